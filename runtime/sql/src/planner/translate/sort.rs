//! `ORDER BY`, `LIMIT` and `OFFSET`: in batch mode a sort at parallelism 1 over the whole
//! input, as Flink's batch `Sort`/`SortLimit`/`Limit`. In streaming mode `ORDER BY … LIMIT`
//! is a global Top-N, an updating result, and `LIMIT` alone keeps the first rows, as Flink's
//! `SortLimit` and `Limit`; both run as the rank operator. Flink sorts a stream without a
//! limit only by a time attribute, ascending; flinkrs does not, and says so.

use std::sync::Arc;

use arrow_array::{ArrayRef, BinaryArray, RecordBatch};
use arrow_schema::{DataType, Field, Schema, SortOptions};
use datafusion_common::ScalarValue;
use datafusion_expr::logical_plan::{Limit, Sort};
use datafusion_expr::{Expr, LogicalPlan};
use flinkrs_core::RuntimeMode;

use super::rank::{Shape, TopN};
use super::{Planned, Translator};
use crate::error::{Error, Result};
use crate::operators::rank::RankType;
use crate::operators::sort::{SortSpec, SqlSortOperator};

impl Translator<'_> {
    pub(super) fn sort(&self, sort: &Sort) -> Result<Planned> {
        self.sort_limit(Some(sort), 0, sort.fetch, &sort.input)
    }

    pub(super) fn limit(&self, limit: &Limit) -> Result<Planned> {
        // Literals are `INT` here (Flink's typing), where DataFusion's own reading of
        // them wants a `BIGINT`.
        let count = |expr: &Option<Box<Expr>>, what: &str| -> Result<Option<usize>> {
            match expr.as_deref() {
                None => Ok(None),
                Some(expr) => whole_number(expr).map(Some).ok_or_else(|| {
                    Error::unsupported(format!("{what} that is not a whole number"))
                }),
            }
        };
        let offset = count(&limit.skip, "an OFFSET")?.unwrap_or(0);
        let fetch = count(&limit.fetch, "a LIMIT")?;
        let fetch_of = |sort: &Sort| match (fetch, sort.fetch) {
            (Some(a), Some(b)) => Some(a.min(b.saturating_sub(offset))),
            (a, b) => a.or(b),
        };
        match limit.input.as_ref() {
            LogicalPlan::Sort(sort) => {
                self.sort_limit(Some(sort), offset, fetch_of(sort), &sort.input)
            }
            // `SELECT a … ORDER BY b LIMIT n`: the limit is over the projection of the sorted
            // rows. In streaming mode the Top-N ranks the rows before the projection.
            LogicalPlan::Projection(projection) if self.mode != RuntimeMode::Batch => {
                match projection.input.as_ref() {
                    LogicalPlan::Sort(sort) => {
                        let planned =
                            self.sort_limit(Some(sort), offset, fetch_of(sort), &sort.input)?;
                        self.projection_over(planned, projection)
                    }
                    _ => self.sort_limit(None, offset, fetch, &limit.input),
                }
            }
            _ => self.sort_limit(None, offset, fetch, &limit.input),
        }
    }

    fn sort_limit(
        &self,
        sort: Option<&Sort>,
        offset: usize,
        fetch: Option<usize>,
        input: &Arc<LogicalPlan>,
    ) -> Result<Planned> {
        if self.mode != RuntimeMode::Batch {
            let Some(fetch) = fetch else {
                return Err(match sort {
                    Some(_) => Error::validation(
                        "Sort on a non-time-attribute field is not supported. (flinkrs sorts \
                         without a LIMIT in batch mode only: SET 'execution.runtime-mode' = \
                         'batch')",
                    ),
                    // Flink's words.
                    None => Error::validation(
                        "FETCH is missed, which on streaming table is not supported currently.",
                    ),
                });
            };
            return self.rank(TopN {
                input,
                partition_by: &[],
                order_by: sort.map(|sort| sort.expr.as_slice()).unwrap_or_default(),
                start: offset,
                limit: offset.saturating_add(fetch),
                output_rank: false,
                rank_type: RankType::RowNumber,
                output: input.schema(),
                shape: if sort.is_some() {
                    Shape::SortLimit
                } else {
                    Shape::Limit
                },
            });
        }
        let planned = self.node(input)?;
        let schema = input.schema();
        let keys = sort
            .map(|sort| sort.expr.as_slice())
            .unwrap_or_default()
            .iter()
            .map(|key| {
                Ok((
                    self.physical(&key.expr, schema)?,
                    SortOptions {
                        descending: !key.asc,
                        nulls_first: key.nulls_first,
                    },
                ))
            })
            .collect::<Result<Vec<_>>>()?;
        let output = Arc::clone(planned.stream.schema());
        let spec = Arc::new(SortSpec {
            keys,
            offset,
            fetch,
            output: Arc::clone(&output),
        });
        // One constant key: every row to one subtask.
        let mut fields: Vec<Field> = output.fields().iter().map(|f| f.as_ref().clone()).collect();
        fields.push(Field::new("$key", DataType::Binary, false));
        let keyed_schema = Arc::new(Schema::new(fields));
        let with_key = Arc::clone(&keyed_schema);
        let keyed = planned
            .stream
            .map_batches(
                "Calc (sort key)",
                keyed_schema,
                move |batch: &RecordBatch| {
                    let mut columns = batch.columns().to_vec();
                    let key: ArrayRef = Arc::new(BinaryArray::from_iter_values(
                        std::iter::repeat_n(b"", batch.num_rows()),
                    ));
                    columns.push(key);
                    RecordBatch::try_new(Arc::clone(&with_key), columns)
                        .map_err(|e| flinkrs_core::Error::function(format!("sort key: {e}")))
                },
            )
            .set_parallelism(1);
        let name = match (sort, fetch) {
            (Some(_), Some(fetch)) => format!("SortLimit(offset=[{offset}], fetch=[{fetch}])"),
            (Some(_), None) => "Sort".to_owned(),
            (None, fetch) => format!(
                "Limit(offset=[{offset}], fetch=[{}])",
                fetch.map_or("unlimited".to_owned(), |f| f.to_string())
            ),
        };
        let operator_name = name.clone();
        let stream = keyed
            .key_by("$key")?
            .process(&name, output, None, move |_| {
                Ok(SqlSortOperator::new(
                    Arc::clone(&spec),
                    operator_name.clone(),
                ))
            })
            .set_parallelism(1);
        Ok(Planned {
            stream,
            updating: false,
            tumble: None,
            parallelism: Some(1),
        })
    }
}

/// A non-negative integer literal, through casts.
fn whole_number(expr: &Expr) -> Option<usize> {
    match expr {
        Expr::Literal(value, _) => match value {
            ScalarValue::Int8(Some(v)) => usize::try_from(*v).ok(),
            ScalarValue::Int16(Some(v)) => usize::try_from(*v).ok(),
            ScalarValue::Int32(Some(v)) => usize::try_from(*v).ok(),
            ScalarValue::Int64(Some(v)) => usize::try_from(*v).ok(),
            ScalarValue::UInt64(Some(v)) => usize::try_from(*v).ok(),
            _ => None,
        },
        Expr::Cast(cast) => whole_number(&cast.expr),
        _ => None,
    }
}
