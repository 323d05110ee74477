//! The built-in jobs' logic, checked on exact outputs.

use flinkrs_api::prelude::*;
use flinkrs_jobs::{scoreboard, windowed_sensors, wordcount};

#[test]
fn tokenizer_splits_like_javas_non_word_class() {
    let env = StreamExecutionEnvironment::new();
    let words = env
        .from_collection(vec![
            "Grüße, WORLD_1!  two--words".to_owned(),
            "".to_owned(),
        ])
        .flat_map(wordcount::tokenize)
        .map(|(word, count)| format!("{word}:{count}"))
        .execute_and_collect("tokenize")
        .unwrap();
    // Java's \w is ASCII-only: 'ü' and 'ß' separate words, as in Flink's Tokenizer.
    assert_eq!(words, vec!["gr:1", "e:1", "world_1:1", "two:1", "words:1"]);
}

#[test]
fn tokenizer_lower_cases_only_words_with_upper_case_letters_short_or_long() {
    let env = StreamExecutionEnvironment::new();
    let words = env
        .from_collection(vec![
            "already lower MiXeD 42 A_LONG_WORD_THAT_DOES_NOT_FIT_INLINE x".to_owned(),
        ])
        .flat_map(wordcount::tokenize)
        .map(|(word, _)| word.to_string())
        .execute_and_collect("tokenize")
        .unwrap();
    assert_eq!(
        words,
        vec![
            "already",
            "lower",
            "mixed",
            "42",
            "a_long_word_that_does_not_fit_inline",
            "x"
        ]
    );
}

#[test]
fn scoreboard_keeps_a_running_standing_per_student() {
    let env = StreamExecutionEnvironment::new();
    let answers = vec![
        ("x".to_owned(), 1),
        ("y".to_owned(), 4),
        ("x".to_owned(), 2),
    ];
    let lines: Vec<String> = scoreboard::scores(&env, answers)
        .map(|score| score.to_string())
        .execute_and_collect("scores")
        .unwrap();
    assert_eq!(
        lines,
        vec!["(x,1,1,1,1.0)", "(y,4,1,4,4.0)", "(x,2,2,3,1.5)"]
    );
}

#[test]
fn windowed_sensors_is_the_same_at_any_parallelism() {
    let mut baseline: Option<(Vec<String>, Vec<String>)> = None;
    for parallelism in [1usize, 3] {
        let env = StreamExecutionEnvironment::new();
        env.set_parallelism(parallelism).unwrap();
        let (windows, late) =
            windowed_sensors::summaries(&env, windowed_sensors::builtin_readings());
        let windows = windows.map(|w| w.to_string()).collect();
        let late = late.map(|r| r.to_string()).collect();
        env.execute("sensors").unwrap();
        let mut result = (windows.take(), late.take());
        result.0.sort();
        result.1.sort();
        match &baseline {
            None => baseline = Some(result),
            Some(expected) => assert_eq!(&result, expected, "parallelism {parallelism}"),
        }
    }
    let (windows, late) = baseline.unwrap();
    assert_eq!(
        windows,
        vec![
            "s1 [0, 10000) readings=3 avg=21.0 max=22.0",
            "s1 [10000, 20000) readings=2 avg=23.5 max=24.0",
            "s1 [20000, 30000) readings=1 avg=25.0 max=25.0",
            "s2 [0, 10000) readings=2 avg=30.5 max=31.0",
            "s2 [10000, 20000) readings=1 avg=32.0 max=32.0",
            "s2 [20000, 30000) readings=1 avg=33.0 max=33.0",
        ]
    );
    assert_eq!(late, vec!["s1 at 4000 ms: 19.0", "s2 at 9500 ms: 29.0"]);
}

#[test]
fn wordcount_counts_the_lines_a_socket_input_sends_until_it_closes() {
    let server = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = server.local_addr().unwrap().port();
    let sender = std::thread::spawn(move || {
        use std::io::Write;
        let (mut connection, _) = server.accept().unwrap();
        connection.write_all(b"to be\nor not to be\n").unwrap();
        // Closing the connection ends the source, and with it the job.
    });
    let env = StreamExecutionEnvironment::new();
    env.set_parallelism(2).unwrap();
    let options = flinkrs_jobs::JobOptions::with_input(Some(std::path::Path::new(&format!(
        "socket://127.0.0.1:{port}"
    ))));
    let lines = wordcount::lines(&env, &options).unwrap();
    let mut counts = wordcount::counts(&lines)
        .map(|(word, count)| format!("{word}:{count}"))
        .execute_and_collect("socket wordcount")
        .unwrap();
    sender.join().unwrap();
    counts.sort();
    assert_eq!(
        counts,
        ["be:1", "be:2", "not:1", "or:1", "to:1", "to:2"],
        "one update per word, as the streaming WordCount prints"
    );
}

#[test]
fn wordcount_refuses_a_socket_input_without_a_port() {
    let env = StreamExecutionEnvironment::new();
    let options =
        flinkrs_jobs::JobOptions::with_input(Some(std::path::Path::new("socket://localhost")));
    let error = wordcount::lines(&env, &options).err().unwrap().to_string();
    assert!(error.contains("write socket://HOST:PORT"), "{error}");
}
