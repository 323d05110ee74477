//! Joins and Top-N as EXPLAIN shows them: a regular join is one keyed operator fed by both
//! inputs through hash edges, named as Flink names it, a time-bounded join of two time
//! attributes is an interval join, a Top-N a rank; and a join of inputs that run at
//! parallelism 1 (`VALUES`, a global aggregate) with the job at 2.

use flinkrs_sql::{SqlSession, StatementResult};

fn session() -> SqlSession {
    let mut session = SqlSession::new();
    for table in [
        "CREATE TABLE orders (id BIGINT, customer STRING, ts TIMESTAMP(3), WATERMARK FOR ts AS \
         ts - INTERVAL '1' SECOND) WITH ('connector' = 'datagen', 'number-of-rows' = '5')",
        "CREATE TABLE shipments (order_id BIGINT, shipped TIMESTAMP(3), WATERMARK FOR shipped \
         AS shipped) WITH ('connector' = 'datagen', 'number-of-rows' = '5')",
        "CREATE TABLE customers (name STRING, tier STRING) WITH ('connector' = 'datagen', \
         'number-of-rows' = '5')",
    ] {
        session.execute(table).unwrap();
    }
    session
}

/// The execution plan section of `EXPLAIN statement`, one line per task and edge.
fn execution_plan(session: &mut SqlSession, statement: &str) -> Vec<String> {
    let explained = session.execute(&format!("EXPLAIN {statement}")).unwrap();
    let StatementResult::Explained(plan) = explained else {
        panic!("not explained: {explained:?}");
    };
    let (_, execution) = plan
        .split_once("== Optimized Execution Plan ==\n")
        .unwrap_or_else(|| panic!("no execution plan section: {plan}"));
    execution.lines().map(str::to_owned).collect()
}

#[test]
fn explain_shows_a_join_fed_by_both_inputs_through_hash_edges() {
    let mut session = session();
    let plan = execution_plan(
        &mut session,
        "SELECT o.id, c.tier FROM orders o LEFT JOIN customers c ON o.customer = c.name AND \
         c.tier <> 'none'",
    );
    let join = plan
        .iter()
        .find(|line| line.contains("Join(joinType=[LeftOuterJoin]"))
        .unwrap_or_else(|| panic!("no join task: {plan:#?}"));
    assert!(
        join.contains("where=[o.customer = c.name AND c.tier != Utf8(\"none\")]"),
        "{join}"
    );
    let number = join.split(']').next().unwrap_or("").trim_start_matches('[');
    let hash_edges = plan
        .iter()
        .filter(|line| line.ends_with(&format!("-[HASH]-> [{number}]")))
        .count();
    assert_eq!(hash_edges, 2, "{plan:#?}");
}

#[test]
fn explain_shows_a_time_bounded_join_of_time_attributes_as_an_interval_join() {
    let mut session = session();
    let plan = execution_plan(
        &mut session,
        "SELECT o.id, s.shipped FROM orders o JOIN shipments s ON o.id = s.order_id AND \
         s.shipped BETWEEN o.ts AND o.ts + INTERVAL '1' HOUR",
    );
    assert!(
        plan.iter().any(|line| line.contains(
            "IntervalJoin(joinType=[InnerJoin], windowBounds=[isRowTime=true, \
             leftLowerBound=-3600000, leftUpperBound=0, leftTimeIndex=2, rightTimeIndex=1], \
             where=[o.id = s.order_id AND s.shipped BETWEEN o.ts AND o.ts + "
        )),
        "{plan:#?}"
    );
}

#[test]
fn explain_shows_top_n_as_a_rank_and_deduplication_by_time_as_deduplicate() {
    let mut session = session();
    let plan = execution_plan(
        &mut session,
        "SELECT customer, id FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY customer ORDER BY \
         id DESC) AS rn FROM orders) WHERE rn <= 3",
    );
    assert!(
        plan.iter().any(|line| line.contains(
            "Rank(strategy=[AppendFastStrategy], rankType=[ROW_NUMBER], rankRange=[rankStart=1, \
             rankEnd=3], partitionBy=[orders.customer], orderBy=[orders.id DESC])"
        )),
        "{plan:#?}"
    );
    let plan = execution_plan(
        &mut session,
        "SELECT customer, id FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY customer ORDER BY \
         ts) AS rn FROM orders) WHERE rn = 1",
    );
    assert!(
        plan.iter().any(|line| line
            .contains("Deduplicate(keep=[FirstRow], key=[orders.customer], order=[ROWTIME])")),
        "{plan:#?}"
    );
}

#[test]
fn a_join_of_values_with_a_global_aggregate_runs_in_both_modes() {
    for mode in ["batch", "streaming"] {
        let mut session = session();
        session
            .execute(&format!("SET 'execution.runtime-mode' = '{mode}'"))
            .unwrap();
        session.execute("SET 'parallelism.default' = '2'").unwrap();
        let result = session
            .query(
                "SELECT v.name, c.n FROM (VALUES ('a'), ('b')) AS v(name) LEFT JOIN (SELECT \
                 'a' AS name, COUNT(*) AS n FROM customers) c ON v.name = c.name",
            )
            .unwrap();
        let mut rows: Vec<Vec<Option<String>>> = flinkrs_sql::client::materialize(result.rows)
            .into_iter()
            .map(|row| row.values)
            .collect();
        rows.sort();
        assert_eq!(
            rows,
            [
                vec![Some("a".to_owned()), Some("5".to_owned())],
                vec![Some("b".to_owned()), None]
            ],
            "{mode}"
        );
    }
}
