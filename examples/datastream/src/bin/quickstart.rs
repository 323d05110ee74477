//! `cargo run -p flinkrs-examples --bin quickstart [FILE...]`: counts the words of the given
//! text files (or of a built-in sentence) and prints every updated count.

use flinkrs_api::prelude::*;

fn main() -> Result<()> {
    let env = StreamExecutionEnvironment::new();
    let mut lines = Vec::new();
    for path in std::env::args().skip(1) {
        let text = std::fs::read_to_string(&path)
            .map_err(|source| Error::io("cannot read input", &path, source))?;
        lines.extend(text.lines().map(str::to_owned));
    }
    if lines.is_empty() {
        lines = vec!["to be".to_owned(), "or not to be".to_owned()];
    }
    flinkrs_examples::word_counts(&env.from_collection(lines)).print();
    env.execute("Quickstart")?;
    Ok(())
}
