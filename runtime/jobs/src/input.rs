//! Reads the small CSV inputs of the built-in jobs, with errors that name the file and line.

use std::path::Path;

use flinkrs_api::prelude::{Error, Result};

/// Reads `path` and parses each non-empty line that is not a `#` comment with `parse`.
/// A malformed line fails the whole read with `file:line: message`, so nothing is half-read.
pub fn read_csv<T>(
    path: &Path,
    parse: impl Fn(&[&str]) -> std::result::Result<T, String>,
) -> Result<Vec<T>> {
    let text = std::fs::read_to_string(path)
        .map_err(|source| Error::io("cannot read input", path, source))?;
    let mut rows = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let fields: Vec<&str> = line.split(',').map(str::trim).collect();
        let row = parse(&fields).map_err(|message| Error::MalformedInput {
            location: format!("{}:{}", path.display(), index + 1),
            message: format!("{message} in '{line}'"),
        })?;
        rows.push(row);
    }
    Ok(rows)
}

/// Parses a field, naming it in the error.
pub fn field<T: std::str::FromStr>(
    fields: &[&str],
    index: usize,
    name: &str,
) -> std::result::Result<T, String> {
    let text = fields
        .get(index)
        .ok_or_else(|| format!("missing field '{name}' (column {})", index + 1))?;
    text.parse().map_err(|_| {
        format!(
            "field '{name}' (column {}) has the invalid value '{text}'",
            index + 1
        )
    })
}

/// Checks the number of fields.
pub fn expect_fields(
    fields: &[&str],
    count: usize,
    layout: &str,
) -> std::result::Result<(), String> {
    if fields.len() == count {
        Ok(())
    } else {
        Err(format!(
            "expected {count} fields ({layout}), found {}",
            fields.len()
        ))
    }
}
