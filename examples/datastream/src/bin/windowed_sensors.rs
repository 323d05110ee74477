//! Runs the `windowed-sensors` example on an in-process cluster. Usage: `windowed_sensors [--input PATH]`.

fn main() -> std::process::ExitCode {
    flinkrs_examples::main_for("windowed-sensors")
}
