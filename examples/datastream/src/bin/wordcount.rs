//! Runs the `wordcount` example on an in-process cluster. Usage: `wordcount [--input PATH]`.

fn main() -> std::process::ExitCode {
    flinkrs_examples::main_for("wordcount")
}
