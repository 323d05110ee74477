//! `RANK()` and `DENSE_RANK()` as window functions the planner resolves: typed `BIGINT NOT
//! NULL`, as Flink types them, and run only as a Top-N ([`crate::operators::rank`]); DataFusion
//! never evaluates them.

use std::sync::Arc;

use arrow_schema::{DataType, Field, FieldRef};
use datafusion_expr::{Signature, Volatility, WindowUDF, WindowUDFImpl};

/// The ranking functions besides `ROW_NUMBER()`.
pub(crate) const NAMES: [&str; 2] = ["rank", "dense_rank"];

#[derive(Debug, PartialEq, Eq, Hash)]
struct Ranking {
    name: &'static str,
    signature: Signature,
}

/// The window function `name` (one of [`NAMES`]), if it is one.
pub(crate) fn ranking_function(name: &str) -> Option<Arc<WindowUDF>> {
    let name = NAMES
        .into_iter()
        .find(|known| known.eq_ignore_ascii_case(name))?;
    Some(Arc::new(WindowUDF::from(Ranking {
        name,
        signature: Signature::nullary(Volatility::Immutable),
    })))
}

impl WindowUDFImpl for Ranking {
    fn name(&self) -> &str {
        self.name
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn partition_evaluator(
        &self,
        _args: datafusion_expr::function::PartitionEvaluatorArgs,
    ) -> datafusion_common::Result<Box<dyn datafusion_expr::PartitionEvaluator>> {
        Err(datafusion_common::DataFusionError::NotImplemented(format!(
            "{}() outside a Top-N",
            self.name.to_uppercase()
        )))
    }

    fn field(
        &self,
        field_args: datafusion_expr::function::WindowUDFFieldArgs,
    ) -> datafusion_common::Result<FieldRef> {
        Ok(Arc::new(Field::new(
            field_args.name(),
            DataType::Int64,
            false,
        )))
    }
}
