#!/usr/bin/env bash
# An Apache Kafka broker (KRaft, no ZooKeeper) assembled from Maven Central
# jars: a throwaway pom lists the broker, the tools (topics, console clients)
# and a log4j binding, and maven copies their runtime jars into $DEST/libs.
# Nothing is installed system-wide; the broker runs on the system's Java 17.
source "$(dirname "$0")/lib.sh"
testbed_begin kafka "$KAFKA_VERSION"

[ -f "$DEST/.installed" ] && [ -d "$DEST/libs" ] && testbed_reused

testbed_need java mvn
: >"$LOG"
rm -rf "$PARTIAL"
mkdir -p "$PARTIAL/libs"
cat >"$PARTIAL/pom.xml" <<POM
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>flinkrs.testbed</groupId>
  <artifactId>kafka-broker</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency>
      <groupId>org.apache.kafka</groupId>
      <artifactId>kafka_2.13</artifactId>
      <version>$KAFKA_VERSION</version>
    </dependency>
    <dependency>
      <groupId>org.apache.kafka</groupId>
      <artifactId>kafka-tools</artifactId>
      <version>$KAFKA_VERSION</version>
      <exclusions>
        <exclusion><groupId>org.apache.kafka</groupId><artifactId>connect-runtime</artifactId></exclusion>
        <exclusion><groupId>com.fasterxml.jackson.jakarta.rs</groupId><artifactId>jackson-jakarta-rs-json-provider</artifactId></exclusion>
      </exclusions>
    </dependency>
    <dependency>
      <groupId>org.apache.logging.log4j</groupId>
      <artifactId>log4j-slf4j-impl</artifactId>
      <version>2.24.3</version>
    </dependency>
  </dependencies>
</project>
POM
(cd "$PARTIAL" && mvn -B -q dependency:copy-dependencies -DoutputDirectory="$PARTIAL/libs" -DincludeScope=runtime) >>"$LOG" 2>&1 ||
    testbed_fail "mvn dependency:copy-dependencies for kafka_2.13:$KAFKA_VERSION failed"
ls "$PARTIAL"/libs/kafka_2.13-"$KAFKA_VERSION".jar >>"$LOG" 2>&1 || testbed_fail "the broker jar is missing from libs/"
java -cp "$PARTIAL/libs/*" kafka.tools.StorageTool random-uuid >>"$LOG" 2>&1 ||
    testbed_fail "the assembled classpath does not run kafka.tools.StorageTool"
rm -f "$PARTIAL/pom.xml"
touch "$PARTIAL/.installed"
testbed_finish
