//! What a test does when a component is not installed.

use std::io::Write;

use crate::Error;

/// In CI (`CI=true`) a missing component is a failure: panics with the reason.
/// Elsewhere prints one loud line and returns `None`, so `cargo test` works on
/// a machine where `make testbed` has not run yet.
pub(crate) fn missing<T>(test_name: &str, error: &Error) -> Option<T> {
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("{test_name}: {error} (CI=true, so a missing component fails the test)");
    }
    let reason = match error {
        Error::NotInstalled { component, .. } => {
            format!("{component} is not installed; run `make testbed`")
        }
        Error::NotRoot { component, uid } => {
            format!("{component} needs root (running as uid {uid})")
        }
        _ => "a testbed component is not installed; run `make testbed`".to_owned(),
    };
    // Written to the real stderr, not through eprintln!, which the test
    // harness captures and hides for passing tests.
    let _ = writeln!(std::io::stderr(), "SKIPPED {test_name}: {reason}");
    None
}

/// Sorts a start attempt's outcome: missing components skip, anything else
/// (the component is installed but broken) fails the test with the reason.
pub(crate) fn or_skip<T>(test_name: &str, outcome: crate::Result<T>) -> Option<T> {
    match outcome {
        Ok(value) => Some(value),
        Err(error @ (Error::NotInstalled { .. } | Error::NotRoot { .. })) => {
            missing(test_name, &error)
        }
        Err(error) => panic!("{test_name}: {error}"),
    }
}
