//! Runs the `scoreboard` example on an in-process cluster. Usage: `scoreboard [--input PATH]`.

fn main() -> std::process::ExitCode {
    flinkrs_examples::main_for("scoreboard")
}
