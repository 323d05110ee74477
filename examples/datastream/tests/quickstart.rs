//! The user programs, checked on exact outputs.

use flinkrs_api::prelude::*;

#[test]
fn word_counts_prints_every_updated_count_in_order() {
    let env = StreamExecutionEnvironment::new();
    let lines = env.from_collection(vec!["to be".to_owned(), "or not to be".to_owned()]);
    let counts = flinkrs_examples::word_counts(&lines)
        .execute_and_collect("quickstart")
        .unwrap();
    assert_eq!(
        counts,
        vec!["(to,1)", "(be,1)", "(or,1)", "(not,1)", "(to,2)", "(be,2)"]
    );
}
