//! Partitioned filesystem tables, as Flink lays them out: a table `PARTITIONED BY (dt, hr)`
//! keeps its rows in folders `dt=<value>/hr=<value>` under its path, and the files hold the
//! other columns only. A value is escaped in the folder name as Hive and Flink escape it
//! (`%2F` for `/`), and a null or empty one is the folder `partition.default-name`
//! (`__DEFAULT_PARTITION__`).

use std::path::Path;
use std::sync::Arc;

use arrow_array::{Array, ArrayRef, RecordBatch, StringArray};
use arrow_schema::{Field, Schema, SchemaRef};
use datafusion_common::arrow::compute::cast;
use flinkrs_core::Error as CoreError;

use crate::catalog::TableDefinition;
use crate::error::{Error, Result};

/// Flink's `partition.default-name` default.
const DEFAULT_PARTITION_NAME: &str = "__DEFAULT_PARTITION__";

/// How a partitioned table's columns split between folder names and file fields.
#[derive(Clone, Debug)]
pub(crate) struct Partitioning {
    /// The table's physical columns.
    table: SchemaRef,
    /// The columns the files hold: the physical ones that are not partition keys.
    files: SchemaRef,
    /// Per physical column, its position among the partition keys, if it is one.
    key_of_column: Vec<Option<usize>>,
    /// The partition keys, in `PARTITIONED BY` order.
    keys: Vec<String>,
    default_name: String,
}

impl Partitioning {
    /// The table's partitioning, or `None` when it has no `PARTITIONED BY`.
    pub fn of(table: &TableDefinition) -> Result<Option<Partitioning>> {
        if table.partition_keys.is_empty() {
            return Ok(None);
        }
        let default_name = table
            .options
            .get("partition.default-name")
            .cloned()
            .unwrap_or_else(|| DEFAULT_PARTITION_NAME.to_owned());
        if default_name.is_empty() {
            return Err(Error::Option {
                table: table.qualified_name.clone(),
                key: "partition.default-name".into(),
                message: "is empty; give the folder name of null partition values".into(),
            });
        }
        let mut files = Vec::new();
        let mut key_of_column = Vec::new();
        for field in table.physical.fields() {
            let key = table
                .partition_keys
                .iter()
                .position(|key| key == field.name());
            if key.is_none() {
                files.push(Field::clone(field));
            }
            key_of_column.push(key);
        }
        Ok(Some(Partitioning {
            table: Arc::clone(&table.physical),
            files: Arc::new(Schema::new(files)),
            key_of_column,
            keys: table.partition_keys.clone(),
            default_name,
        }))
    }

    /// The columns the files hold.
    pub fn file_schema(&self) -> SchemaRef {
        Arc::clone(&self.files)
    }

    /// The partition values of `file`, from its folders under `root`: `None` for the default
    /// partition. A file outside a folder of some key is an error naming it.
    pub fn values_of(&self, root: &Path, file: &Path) -> flinkrs_core::Result<Vec<Option<String>>> {
        let relative = file.strip_prefix(root).unwrap_or(file);
        let mut values = vec![None; self.keys.len()];
        let mut found = vec![false; self.keys.len()];
        for component in relative.iter() {
            let Some((key, value)) = component.to_str().and_then(|text| text.split_once('='))
            else {
                continue;
            };
            if let Some(index) = self.keys.iter().position(|name| name == key) {
                found[index] = true;
                values[index] = (value != self.default_name).then(|| unescape(value));
            }
        }
        if let Some(missing) = found.iter().position(|found| !found) {
            return Err(CoreError::MalformedInput {
                location: format!("file '{}'", file.display()),
                message: format!(
                    "the table is partitioned by '{}', but the file is in no folder '{}=<value>' \
                     under '{}'; move it into its partition's folder",
                    self.keys.join("', '"),
                    self.keys[missing],
                    root.display()
                ),
            });
        }
        Ok(values)
    }

    /// The table's row batch: `batch` (the file's columns) with the partition columns put back
    /// in their places, each holding its value of `file`'s partition.
    pub fn complete(
        &self,
        batch: RecordBatch,
        values: &[Option<String>],
        file: &Path,
    ) -> flinkrs_core::Result<RecordBatch> {
        let rows = batch.num_rows();
        let mut from_file = batch.columns().iter();
        let mut columns: Vec<ArrayRef> = Vec::with_capacity(self.key_of_column.len());
        for (field, key) in self.table.fields().iter().zip(&self.key_of_column) {
            let Some(key) = key else {
                columns.extend(from_file.next().cloned());
                continue;
            };
            let text: ArrayRef = Arc::new(StringArray::from(vec![values[*key].as_deref(); rows]));
            let typed = cast(&text, field.data_type())
                .ok()
                .filter(|typed| typed.null_count() == text.null_count())
                .ok_or_else(|| CoreError::MalformedInput {
                    location: format!("file '{}'", file.display()),
                    message: format!(
                        "its partition folder gives '{}' = '{}', which is not a {}",
                        field.name(),
                        values[*key].as_deref().unwrap_or_default(),
                        crate::types::flink_type_name(field.data_type())
                    ),
                })?;
            columns.push(typed);
        }
        RecordBatch::try_new(Arc::clone(&self.table), columns)
            .map_err(|error| CoreError::function(format!("filesystem source: {error}")))
    }

    /// The positions of the partition keys among the physical columns, in key order.
    pub fn key_columns(&self) -> Vec<usize> {
        let mut columns = vec![0; self.keys.len()];
        for (column, key) in self.key_of_column.iter().enumerate() {
            if let Some(key) = key {
                columns[*key] = column;
            }
        }
        columns
    }

    /// Whether physical column `column` is a partition key.
    pub fn is_key(&self, column: usize) -> bool {
        self.key_of_column.get(column).is_some_and(Option::is_some)
    }

    /// The folder of a row with the partition values `values` (rendered, in key order):
    /// `dt=2024-01-01/hr=10`, written into `folder`.
    pub fn folder_into(&self, values: &[Option<&str>], folder: &mut String) {
        folder.clear();
        for (key, value) in self.keys.iter().zip(values) {
            if !folder.is_empty() {
                folder.push('/');
            }
            escape_into(key, folder);
            folder.push('=');
            match value {
                Some(value) if !value.is_empty() => escape_into(value, folder),
                _ => folder.push_str(&self.default_name),
            }
        }
    }
}

/// Whether Hive and Flink escape `character` in a partition folder's name.
fn must_escape(character: char) -> bool {
    character < ' '
        || matches!(
            character,
            '"' | '#'
                | '%'
                | '\''
                | '*'
                | '/'
                | ':'
                | '='
                | '?'
                | '\\'
                | '\u{7f}'
                | '{'
                | '}'
                | '['
                | ']'
                | '^'
        )
}

fn escape_into(text: &str, out: &mut String) {
    use std::fmt::Write;
    for character in text.chars() {
        if must_escape(character) {
            let _ = write!(out, "%{:02X}", u32::from(character));
        } else {
            out.push(character);
        }
    }
}

/// `text` with each `%XX` made the character it escapes.
pub(crate) fn unescape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('%') {
        out.push_str(&rest[..at]);
        let code = rest
            .get(at + 1..at + 3)
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match code {
            Some(code) => {
                out.push(char::from(code));
                rest = &rest[at + 3..];
            }
            None => {
                out.push('%');
                rest = &rest[at + 1..];
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folder_names_escape_as_hive_does_and_read_back() {
        let value = "a/b c:d=e%f";
        let mut escaped = String::new();
        escape_into(value, &mut escaped);
        assert_eq!(escaped, "a%2Fb c%3Ad%3De%25f");
        assert_eq!(unescape(&escaped), value);
        assert_eq!(unescape("100%"), "100%");
    }
}
