//! `flinkrs sql -f`: runs a script's statements in order, prints them and their results as
//! Flink's SQL client does, and stops with exit code 1 at the first statement that fails.

use std::process::Command;

/// The output with the query timings ("(0.02 seconds)") taken out.
pub(crate) fn without_timings(output: &str) -> String {
    output
        .lines()
        .map(|line| match line.rfind(" (") {
            Some(at) if line.ends_with(" seconds)") => &line[..at],
            _ => line,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn a_script_runs_until_its_first_failing_statement() {
    let directory = tempfile::tempdir().unwrap();
    let script = directory.path().join("script.sql");
    std::fs::write(
        &script,
        "-- counts\nSET 'execution.runtime-mode' = 'batch';\n\
         SELECT COUNT(*) AS cnt FROM (VALUES (1), (2)) AS T(n);\n\
         SELECT * FROM missing;\nSELECT 1;\n",
    )
    .unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_flinkrs"))
        .args(["sql", "-f"])
        .arg(&script)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        without_timings(&String::from_utf8_lossy(&output.stdout)),
        "[INFO] Executing SQL from file.\n\n\
         Flink SQL> SET 'execution.runtime-mode' = 'batch'\n\
         [INFO] Execute statement succeeded.\n\n\
         Flink SQL> SELECT COUNT(*) AS cnt FROM (VALUES (1), (2)) AS T(n)\n\
         +-----+\n| cnt |\n+-----+\n|   2 |\n+-----+\n1 row in set\n\n\
         Flink SQL> SELECT * FROM missing\n\
         [ERROR] Could not execute SQL statement. Reason:\n\
         Object 'missing' not found within 'default_catalog.default_database'\n\n\
         Shutting down the session...\ndone."
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&format!(
            "error: the statement at line 4 of '{}' failed; the rest of the file was not run",
            script.display()
        )),
        "{stderr}"
    );
}
