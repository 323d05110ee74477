//! The client prints what Flink's SQL client prints: the reference outputs in
//! `shared/flink-reference` (`sql-client-tableau-*.txt`), and the `[INFO]` and `[ERROR]`
//! lines of statements.

use flinkrs_sql::SqlSession;
use flinkrs_sql::client::{ClientAction, PrintOptions, execute_and_print};
use flinkrs_sql::split::split_statements;

/// Runs `script` as `flinkrs sql -f` does (without timings) and returns what it printed.
fn run(script: &str) -> String {
    let mut session = SqlSession::new();
    let mut out = Vec::new();
    for statement in split_statements(script) {
        match execute_and_print(
            &mut session,
            &statement.text,
            &mut out,
            PrintOptions { timing: false },
        ) {
            Ok(ClientAction::Continue) | Err(_) => {}
            Ok(ClientAction::Quit) => break,
        }
    }
    String::from_utf8(out).unwrap()
}

const QUERY: &str = "SELECT name, COUNT(*) AS cnt FROM (VALUES ('Bob'), ('Alice'), ('Bob')) AS T(name) GROUP BY name;";

#[test]
fn batch_tableau_is_laid_out_as_flinks() {
    let output = run(&format!(
        "SET 'sql-client.execution.result-mode' = 'tableau';\n\
         SET 'execution.runtime-mode' = 'batch';\n{QUERY}"
    ));
    // Flink's batch rows come in the order of its hash table; flinkrs's in first-seen order,
    // so the rows are compared as a set, the layout line by line.
    let lines: Vec<&str> = output.lines().collect();
    assert_eq!(
        lines[..8],
        [
            "[INFO] Execute statement succeeded.",
            "",
            "[INFO] Execute statement succeeded.",
            "",
            "+-------+-----+",
            "|  name | cnt |",
            "+-------+-----+",
            "|   Bob |   2 |",
        ]
    );
    assert_eq!(
        lines[8..],
        ["| Alice |   1 |", "+-------+-----+", "2 rows in set", ""]
    );
}

#[test]
fn streaming_tableau_shows_the_changelog_as_flink_does() {
    let output = run(&format!(
        "SET 'sql-client.execution.result-mode' = 'tableau';\n\
         SET 'execution.runtime-mode' = 'streaming';\n{QUERY}"
    ));
    assert_eq!(
        output,
        "[INFO] Execute statement succeeded.\n\n[INFO] Execute statement succeeded.\n\n\
         +----+--------------------------------+----------------------+\n\
         | op |                           name |                  cnt |\n\
         +----+--------------------------------+----------------------+\n\
         | +I |                            Bob |                    1 |\n\
         | +I |                          Alice |                    1 |\n\
         | -U |                            Bob |                    1 |\n\
         | +U |                            Bob |                    2 |\n\
         +----+--------------------------------+----------------------+\n\
         Received a total of 4 rows\n\n"
    );
}

#[test]
fn table_mode_shows_the_final_rows_and_errors_say_why() {
    let output = run(&format!(
        "SET 'sql-client.execution.result-mode' = 'table';\n{QUERY}\nSELECT nothing FROM nowhere;"
    ));
    assert_eq!(
        output,
        "[INFO] Execute statement succeeded.\n\n\
         +-------+-----+\n|  name | cnt |\n+-------+-----+\n| Alice |   1 |\n|   Bob |   2 |\n\
         +-------+-----+\n2 rows in set\n\n\
         [ERROR] Could not execute SQL statement. Reason:\n\
         Object 'nowhere' not found within 'default_catalog.default_database'\n\n"
    );
}

#[test]
fn nulls_decimals_doubles_booleans_and_timestamps_render_as_in_flink() {
    let output = run("SET 'execution.runtime-mode' = 'batch';\n\
         SELECT CAST(NULL AS INT) AS nothing, 1.50 AS price, CAST(2 AS DOUBLE) AS two, 1 < 2 AS yes, \
         CAST('2024-01-01 10:00:01' AS TIMESTAMP(3)) AS ts, 7 / 2 AS half;");
    assert_eq!(
        output,
        "[INFO] Execute statement succeeded.\n\n\
         +---------+-------+-----+------+-------------------------+------+\n\
         | nothing | price | two |  yes |                      ts | half |\n\
         +---------+-------+-----+------+-------------------------+------+\n\
         |  <NULL> |  1.50 | 2.0 | TRUE | 2024-01-01 10:00:01.000 |    3 |\n\
         +---------+-------+-----+------+-------------------------+------+\n\
         1 row in set\n\n"
    );
}

#[test]
fn the_course_catalog_and_view_example_prints_what_flink_prints() {
    let script = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/sql/catalog-and-views.sql"
    ))
    .unwrap();
    let output = run(&script);
    let ok = "[INFO] Execute statement succeeded.\n\n";
    let expected = [
        ok,
        ok,
        ok,
        ok,
        "+-----------------+\n|    catalog name |\n+-----------------+\n|          course |\n\
         | default_catalog |\n+-----------------+\n2 rows in set\n\n",
        "+---------------+\n| database name |\n+---------------+\n|       default |\n\
         |          shop |\n+---------------+\n2 rows in set\n\n",
        ok,
        ok,
        "+------------+\n| table name |\n+------------+\n|     orders |\n+------------+\n\
         1 row in set\n\n",
        "+------------+\n|  view name |\n+------------+\n| big_orders |\n+------------+\n\
         1 row in set\n\n",
        "+----------+--------+------+-----+--------+-----------+\n\
         |     name |   type | null | key | extras | watermark |\n\
         +----------+--------+------+-----+--------+-----------+\n\
         | order_id | BIGINT | TRUE |     |        |           |\n\
         |  product | STRING | TRUE |     |        |           |\n\
         | quantity |    INT | TRUE |     |        |           |\n\
         +----------+--------+------+-----+--------+-----------+\n3 rows in set\n\n",
        ok,
        "+----------+----------+\n| order_id | quantity |\n+----------+----------+\n\
         |        4 |       13 |\n|        5 |       14 |\n|        6 |       15 |\n\
         +----------+----------+\n3 rows in set\n\n",
        "+---+-------+\n| n | total |\n+---+-------+\n| 3 |    42 |\n+---+-------+\n\
         1 row in set\n\n",
        ok,
        ok,
        ok,
        "+-----------------+\n|    catalog name |\n+-----------------+\n| default_catalog |\n\
         +-----------------+\n1 row in set\n\n",
    ]
    .concat();
    assert_eq!(output, expected);
}

#[test]
fn a_statement_set_prints_what_flinks_client_prints() {
    let output = run(
        "CREATE TABLE sink (n INT) WITH ('connector' = 'blackhole');\n\
         BEGIN STATEMENT SET;\n\
         INSERT INTO sink VALUES (1);\n\
         SELECT 1;\n",
    );
    assert_eq!(
        output,
        "[INFO] Execute statement succeeded.\n\n\
         [INFO] Begin a statement set.\n\n\
         [INFO] Add SQL update statement to the statement set.\n\n\
         [ERROR] Could not execute SQL statement. Reason:\n\
         only INSERT INTO statements can be in a statement set: END it first, or add an INSERT \
         INTO\n\n"
    );
}
