//! The `nexmark` table source under the Nexmark reference's own DDL and views
//! (`nexmark/queries`): ROW columns, the computed `dateTime` with its watermark, field access in
//! views, and the events the generator's model gives. Bad declarations and options get errors
//! that name them.

use std::path::Path;

use flinkrs_sql::SqlSession;
use flinkrs_sql::split::split_statements;

/// A batch session with the reference's `datagen` table of `events` events and its views.
fn session(events: u64) -> SqlSession {
    let mut session = SqlSession::new();
    session
        .execute("SET 'execution.runtime-mode' = 'batch'")
        .unwrap();
    let queries = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../nexmark/queries");
    for file in ["ddl_gen.sql", "ddl_views.sql"] {
        let text = std::fs::read_to_string(queries.join(file))
            .unwrap()
            .replace("${TPS}", "1000")
            .replace("${EVENTS_NUM}", &events.to_string())
            .replace("${PERSON_PROPORTION}", "1")
            .replace("${AUCTION_PROPORTION}", "3")
            .replace("${BID_PROPORTION}", "46")
            .replace("${NEXMARK_TABLE}", "datagen");
        for statement in split_statements(&text) {
            session
                .execute(&statement.text)
                .unwrap_or_else(|e| panic!("{file}: {e}"));
        }
    }
    session
}

fn rows(session: &mut SqlSession, query: &str) -> Vec<String> {
    let result = session
        .query(query)
        .unwrap_or_else(|e| panic!("{query}: {e}"));
    result
        .rows
        .iter()
        .map(|row| {
            row.values
                .iter()
                .map(|v| v.as_deref().unwrap_or("<NULL>"))
                .collect::<Vec<_>>()
                .join("|")
        })
        .collect()
}

#[test]
fn the_reference_views_split_the_events_one_to_three_to_forty_six() {
    let mut session = session(1_000);
    assert_eq!(rows(&mut session, "SELECT COUNT(*) FROM person"), ["20"]);
    assert_eq!(rows(&mut session, "SELECT COUNT(*) FROM auction"), ["60"]);
    assert_eq!(rows(&mut session, "SELECT COUNT(*) FROM bid"), ["920"]);
}

#[test]
fn ids_and_event_times_follow_the_event_index() {
    let mut session = session(100);
    // Event 0 is person 1000 at the first event time; event 50 is person 1001, 50 ms later at
    // 1,000 events per second.
    assert_eq!(
        rows(&mut session, "SELECT id, `dateTime` FROM person"),
        [
            "1000|2015-07-15 00:00:00.000",
            "1001|2015-07-15 00:00:00.050"
        ]
    );
    // Events 1 to 3 are the first three auctions, events 51 to 53 the next three.
    assert_eq!(
        rows(
            &mut session,
            "SELECT id, category BETWEEN 10 AND 14, expires > `dateTime` FROM auction"
        ),
        [
            "1000|TRUE|TRUE",
            "1001|TRUE|TRUE",
            "1002|TRUE|TRUE",
            "1003|TRUE|TRUE",
            "1004|TRUE|TRUE",
            "1005|TRUE|TRUE"
        ]
    );
}

#[test]
fn the_same_events_come_back_on_every_run() {
    let query = "SELECT auction, bidder, price, channel, url, `dateTime`, extra FROM bid";
    let first = rows(&mut session(300), query);
    assert_eq!(first.len(), 276);
    assert_eq!(rows(&mut session(300), query), first);
}

#[test]
fn a_table_without_the_reference_columns_is_refused_with_the_columns_to_declare() {
    let mut session = SqlSession::new();
    session
        .execute("CREATE TABLE events (event_type INT, bid ROW<auction BIGINT>) WITH ('connector' = 'nexmark')")
        .unwrap();
    let message = session
        .query("SELECT event_type FROM events")
        .unwrap_err()
        .to_string();
    assert!(
        message.starts_with(
            "the nexmark table 'default_catalog.default_database.events' must declare the \
             physical columns of the Nexmark reference's DDL, in this order:\n  `event_type` \
             INT,\n  `person` ROW<`id` BIGINT, `name` STRING,"
        ),
        "{message}"
    );
}

#[test]
fn an_unknown_option_and_a_bad_value_are_named() {
    let mut bad = SqlSession::new();
    let ddl = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../nexmark/queries/ddl_gen.sql"),
    )
    .unwrap();
    let with_typo = ddl
        .replace("'events.num' = '${EVENTS_NUM}'", "'events.number' = '5'")
        .replace("${TPS}", "1000")
        .replace("${PERSON_PROPORTION}", "1")
        .replace("${AUCTION_PROPORTION}", "3")
        .replace("${BID_PROPORTION}", "46");
    bad.execute(with_typo.trim().trim_end_matches(';')).unwrap();
    let message = bad
        .query("SELECT event_type FROM datagen")
        .unwrap_err()
        .to_string();
    assert!(
        message.starts_with(
            "Unsupported options found for 'nexmark'.\n\nUnsupported options:\n\nevents.number\n"
        ),
        "{message}"
    );
    let mut zero = SqlSession::new();
    let no_bidders = ddl
        .replace("${EVENTS_NUM}", "5")
        .replace("${TPS}", "1000")
        .replace("${PERSON_PROPORTION}", "0")
        .replace("${AUCTION_PROPORTION}", "3")
        .replace("${BID_PROPORTION}", "46");
    zero.execute(no_bidders.trim().trim_end_matches(';'))
        .unwrap();
    let message = zero
        .query("SELECT event_type FROM datagen")
        .unwrap_err()
        .to_string();
    assert!(
        message.contains("people and auctions need a proportion of at least 1"),
        "{message}"
    );
}

#[test]
fn two_row_types_closed_by_one_token_get_a_clear_error() {
    let mut session = SqlSession::new();
    let message = session
        .execute("CREATE TABLE t (r ROW<a INT, b ROW<c INT>>) WITH ('connector' = 'nexmark')")
        .unwrap_err()
        .to_string();
    assert_eq!(
        message,
        "'>>' closing two ROW types at once: write '> >' is not supported yet"
    );
}
