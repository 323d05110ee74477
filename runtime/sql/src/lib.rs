//! Flink SQL over Arrow batches: the SQL client's statements, catalogs, table connectors and
//! queries, run as jobs on the flinkrs runtime.
//!
//! Where it sits: above `core`, `dataflow`, `api` (the Arrow DataStream) and `connectors`;
//! below `cluster` (the `flinkrs sql` client). It must not depend on `cluster`.
//!
//! Following the architecture's decision 14, DataFusion parses (sqlparser with Flink's
//! dialect on top, [`parse`]), plans and types queries ([`planner`]), and provides the
//! physical expressions and accumulators; the streaming operators are our own, over Arrow
//! batches on our executor ([`operators`]), and DataFusion's async execution engine is not
//! used. Flink's semantics win where the two differ: `SUM` and `AVG` of an `INT` are `INT`,
//! integer literals are `INT`, decimal literals are `DECIMAL`, and a streaming group
//! aggregate emits a changelog (`+I`, `-U`, `+U`).
//!
//! ```
//! use flinkrs_sql::SqlSession;
//!
//! let mut session = SqlSession::new();
//! session.execute("SET 'execution.runtime-mode' = 'batch'").unwrap();
//! let result = session
//!     .query("SELECT name, COUNT(*) AS cnt FROM (VALUES ('Bob'), ('Alice'), ('Bob')) AS T(name) GROUP BY name")
//!     .unwrap();
//! let mut rows: Vec<String> = result.rows.iter().map(|r| format!("{:?}", r.values)).collect();
//! rows.sort();
//! assert_eq!(rows, vec![r#"[Some("Alice"), Some("1")]"#, r#"[Some("Bob"), Some("2")]"#]);
//! ```

pub mod catalog;
pub mod client;
pub mod collect;
mod connector;
mod date_format;
mod error;
mod explain;
mod functions;
mod integer_aggregate;
pub mod job;
mod operators;
pub mod parse;
mod planner;
pub mod render;
mod session;
pub mod split;
mod string_functions;
pub mod types;

pub use connector::PrintTarget;
pub use error::{Error, Position, Result};
pub use planner::PlannedQuery;
pub use render::{ResultColumn, ResultRow, RowKind};
pub use session::{
    Cluster, PARALLELISM, QueryResult, RESULT_MODE, RUNTIME_MODE, ResultMode, SqlSession,
    StatementResult,
};
