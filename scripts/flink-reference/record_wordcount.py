"""Re-records runtime/cluster/tests/golden/wordcount-builtin-batch.txt from real Apache Flink.

WordCount over the built-in text (runtime/jobs/data/wordcount.txt) in batch mode: the
final count of every word, with Flink's Tokenizer (lower-case, split on Java's \\W+), sorted.

    /tmp/pyflink/bin/python scripts/flink-reference/record_wordcount.py \
        > runtime/cluster/tests/golden/wordcount-builtin-batch.txt
"""

import pathlib
import re
import sys

from pyflink.common import Types
from pyflink.datastream import RuntimeExecutionMode, StreamExecutionEnvironment

TEXT = pathlib.Path(__file__).resolve().parents[2] / "runtime/jobs/data/wordcount.txt"


def tokenize(line):
    # Java's \W without UNICODE_CHARACTER_CLASS is ASCII-only, hence re.ASCII.
    for word in re.split(r"\W+", line.lower(), flags=re.ASCII):
        if word:
            yield word, 1


def main():
    env = StreamExecutionEnvironment.get_execution_environment()
    env.set_runtime_mode(RuntimeExecutionMode.BATCH)
    env.set_parallelism(1)
    env.set_python_executable(sys.executable)
    lines = env.from_collection(TEXT.read_text().splitlines(), type_info=Types.STRING())
    counts = (
        lines.flat_map(tokenize, output_type=Types.TUPLE([Types.STRING(), Types.INT()]))
        .key_by(lambda pair: pair[0])
        .sum(1)
    )
    with counts.execute_and_collect("wordcount") as results:
        rows = sorted(f"({word},{count})" for word, count in results)
    print("\n".join(rows))


if __name__ == "__main__":
    main()
