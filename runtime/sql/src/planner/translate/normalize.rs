//! An upsert source's rows (an `upsert-kafka` table's) as a changelog: keyed by the table's
//! PRIMARY KEY and normalized by [`SqlChangelogNormalizeOperator`], as Flink plans a
//! `ChangelogNormalize` after such a source.

use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_schema::{DataType, Field, Schema};
use datafusion_common::arrow::row::{RowConverter, SortField};
use flinkrs_api::arrow::ArrowStream;
use flinkrs_core::RuntimeMode;

use super::{Planned, Translator, group_key};
use crate::catalog::TableDefinition;
use crate::error::{Error, Result};
use crate::operators::normalize::{NormalizeSpec, SqlChangelogNormalizeOperator};
use crate::planner::ROW_KIND_COLUMN;

impl Translator<'_> {
    /// `stream`: `table`'s columns, then the row kind of each upsert (`+U`) or deletion
    /// (`-D`). The result is a changelog in streaming mode, and each key's last row in batch
    /// mode.
    pub(super) fn normalize(
        &self,
        stream: ArrowStream,
        table: &TableDefinition,
    ) -> Result<Planned> {
        let columns: Vec<Field> = table
            .schema
            .fields()
            .iter()
            .map(|field| field.as_ref().clone().with_nullable(true))
            .collect();
        let width = columns.len();
        let mut key_indices = Vec::with_capacity(table.primary_key.len());
        for name in &table.primary_key {
            let index = columns
                .iter()
                .position(|field| field.name() == name)
                .ok_or_else(|| {
                    Error::validation(format!(
                        "the PRIMARY KEY column '{name}' of table '{}' is not one of its columns",
                        table.qualified_name
                    ))
                })?;
            key_indices.push(index);
        }
        let converter = Arc::new(RowConverter::new(
            key_indices
                .iter()
                .map(|&index| SortField::new(columns[index].data_type().clone()))
                .collect(),
        )?);
        let mut keyed_fields = columns.clone();
        keyed_fields.push(Field::new("$key", DataType::Binary, false));
        keyed_fields.push(Field::new(ROW_KIND_COLUMN, DataType::Int8, false));
        let keyed = Arc::new(Schema::new(keyed_fields));
        let keyed_schema = Arc::clone(&keyed);
        let keyed_stream = stream.map_batches("Calc (primary key)", keyed, move |batch| {
            let key = group_key(batch, &key_indices, Some(&converter))?;
            let mut out = batch.columns()[..width].to_vec();
            out.push(key);
            out.push(Arc::clone(batch.column(width)));
            RecordBatch::try_new(Arc::clone(&keyed_schema), out)
                .map_err(|e| flinkrs_core::Error::function(format!("Calc (primary key): {e}")))
        });
        let streaming = self.mode == RuntimeMode::Streaming;
        let mut output = columns.clone();
        if streaming {
            output.push(Field::new(ROW_KIND_COLUMN, DataType::Int8, false));
        }
        let spec = Arc::new(NormalizeSpec {
            columns: Arc::new(Schema::new(columns)),
            output: Arc::new(Schema::new(output)),
        });
        let name = format!("ChangelogNormalize(key=[{}])", table.primary_key.join(", "));
        let output = Arc::clone(&spec.output);
        let stream = keyed_stream
            .key_by("$key")?
            .process(&name, output, None, move |context| {
                SqlChangelogNormalizeOperator::new(Arc::clone(&spec), &context.info)
            });
        Ok(Planned {
            stream,
            updating: streaming,
            tumble: None,
            parallelism: None,
        })
    }
}
