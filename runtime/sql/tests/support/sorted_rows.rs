//! A query's rows as the tests compare them: values joined by `|`, null as `<NULL>`, sorted.

use flinkrs_sql::render::ResultRow;

/// `rows` as `v1|v2|…` lines, sorted.
pub fn sorted_lines(rows: &[ResultRow]) -> Vec<String> {
    let mut lines: Vec<String> = rows
        .iter()
        .map(|row| {
            row.values
                .iter()
                .map(|v| v.as_deref().unwrap_or("<NULL>"))
                .collect::<Vec<_>>()
                .join("|")
        })
        .collect();
    lines.sort();
    lines
}
