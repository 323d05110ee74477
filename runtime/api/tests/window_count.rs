//! Count windows end to end: tumbling (fire and purge every `size` elements of a key) and
//! sliding (every `slide` elements, over the last `size`).

use flinkrs_api::prelude::*;

fn environment(parallelism: usize) -> StreamExecutionEnvironment {
    let env = StreamExecutionEnvironment::new();
    env.set_parallelism(parallelism).unwrap();
    env
}

/// `a` gets 1..=7 and `b` gets 10, 20, interleaved.
fn input() -> Vec<(String, i64)> {
    let mut input: Vec<(String, i64)> = (1..=7).map(|n| ("a".to_owned(), n)).collect();
    input.insert(2, ("b".to_owned(), 10));
    input.insert(5, ("b".to_owned(), 20));
    input
}

fn keyed(env: &StreamExecutionEnvironment) -> KeyedStream<(String, i64), String> {
    env.from_collection(input())
        .key_by(|pair: &(String, i64)| pair.0.clone())
}

#[expect(
    clippy::ptr_arg,
    reason = "window functions receive the key as &K, here &String"
)]
fn list_values(
    key: &String,
    _context: &WindowContext<'_, GlobalWindow>,
    elements: &[(String, i64)],
    out: &mut WindowCollector<'_, (String, Vec<i64>)>,
) -> Result<()> {
    out.collect((key.clone(), elements.iter().map(|pair| pair.1).collect()));
    Ok(())
}

#[test]
fn tumbling_count_window_fires_every_size_elements_and_never_fires_incomplete_windows() {
    let env = environment(1);
    let sums = keyed(&env).count_window(3).reduce(|a, b| (a.0, a.1 + b.1));
    let result = sums.execute_and_collect("tumbling count").unwrap();
    // a: 1+2+3, 4+5+6; the seventh element and b's two elements never fill a window.
    assert_eq!(result, vec![("a".to_owned(), 6), ("a".to_owned(), 15)]);
}

#[test]
fn sliding_count_window_fires_every_slide_elements_over_the_last_size() {
    let env = environment(1);
    let windows = keyed(&env).count_window_sliding(3, 2).process(list_values);
    let result = windows.execute_and_collect("sliding count").unwrap();
    assert_eq!(
        result,
        vec![
            ("a".to_owned(), vec![1, 2]),
            ("a".to_owned(), vec![2, 3, 4]),
            ("b".to_owned(), vec![10, 20]),
            ("a".to_owned(), vec![4, 5, 6]),
        ]
    );
}

#[test]
fn count_windows_pass_key_and_global_window_to_the_window_function() {
    let env = environment(1);
    let labelled = keyed(&env).count_window(2).reduce_with(
        |a, b| (a.0, a.1 + b.1),
        |key: &String, window: &GlobalWindow, sum: (String, i64)| {
            format!("{key} {window} {}", sum.1)
        },
    );
    let result = labelled.execute_and_collect("labelled count").unwrap();
    assert_eq!(
        result,
        vec![
            "a GlobalWindow 3",
            "a GlobalWindow 7",
            "b GlobalWindow 30",
            "a GlobalWindow 11"
        ]
    );
}

#[test]
fn count_windows_at_parallelism_two_match_parallelism_one() {
    let run = |parallelism: usize| {
        let env = environment(parallelism);
        let input: Vec<(String, i64)> = (0..500).map(|n| (format!("k{}", n % 11), n)).collect();
        let mut result = env
            .from_collection(input)
            .key_by(|pair: &(String, i64)| pair.0.clone())
            .count_window_sliding(5, 3)
            .reduce(|a, b| (a.0, a.1 + b.1))
            .execute_and_collect("parallel count")
            .unwrap();
        result.sort();
        result
    };
    let serial = run(1);
    assert!(serial.len() > 100, "{} results", serial.len());
    assert_eq!(run(2), serial);
}

#[test]
fn a_zero_count_window_fails_the_job_with_a_clear_error() {
    let env = environment(1);
    let error = keyed(&env)
        .count_window(0)
        .reduce(|a, _| a)
        .execute_and_collect("zero count")
        .unwrap_err();
    assert!(
        error
            .to_string()
            .contains("size (0) and slide (0) must be positive"),
        "{error}"
    );
}

/// A process window function with its own state: numbers the windows it evaluates.
#[derive(Clone, Default)]
struct NumberedFirings {
    fired: usize,
}

impl ProcessWindowFunction<String, (String, i64), String, GlobalWindow> for NumberedFirings {
    fn process(
        &mut self,
        key: &String,
        _context: &WindowContext<'_, GlobalWindow>,
        elements: &[(String, i64)],
        out: &mut WindowCollector<'_, String>,
    ) -> Result<()> {
        self.fired += 1;
        let total: i64 = elements.iter().map(|pair| pair.1).sum();
        out.collect(format!(
            "#{} {key} {total} at {}",
            self.fired,
            out.timestamp()
        ));
        Ok(())
    }
}

#[test]
fn a_stateful_process_window_function_is_called_once_per_firing() {
    let env = environment(1);
    let numbered = keyed(&env)
        .count_window(2)
        .process(NumberedFirings::default());
    let result = numbered.execute_and_collect("numbered").unwrap();
    let max = i64::MAX;
    assert_eq!(
        result,
        vec![
            format!("#1 a 3 at {max}"),
            format!("#2 a 7 at {max}"),
            format!("#3 b 30 at {max}"),
            format!("#4 a 11 at {max}"),
        ]
    );
}
