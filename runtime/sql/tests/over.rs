//! OVER aggregations end to end: `EXPLAIN` names the operator as Flink's plan does.

use flinkrs_sql::{SqlSession, StatementResult};

#[test]
fn explain_names_the_over_aggregate_with_its_partition_order_and_frame() {
    let mut session = SqlSession::new();
    session
        .execute(
            "CREATE TABLE events (k INT, v INT, ts TIMESTAMP(3), WATERMARK FOR ts AS ts - \
             INTERVAL '1' SECOND) WITH ('connector' = 'datagen', 'number-of-rows' = '3')",
        )
        .unwrap();
    let explained = session
        .execute(
            "EXPLAIN SELECT k, SUM(v) OVER (PARTITION BY k ORDER BY ts RANGE BETWEEN INTERVAL \
             '2' SECOND PRECEDING AND CURRENT ROW) AS s FROM events",
        )
        .unwrap();
    let StatementResult::Explained(plan) = explained else {
        panic!("not explained: {explained:?}");
    };
    let over = plan
        .lines()
        .find(|line| line.contains("OverAggregate"))
        .unwrap_or_else(|| panic!("no OverAggregate in {plan}"));
    assert_eq!(
        over,
        "[2] OverAggregate(partitionBy=[events.k], orderBy=[events.ts ASC], window=[RANG \
         BETWEEN 2000 PRECEDING AND CURRENT ROW], select=[SUM(events.v)]) -> Calc -> Sink: \
         Discard, parallelism 1"
    );
}
