//! Reading a `SELECT`'s rows from a cluster: `GET /flinkrs/jobs/:id/results?offset=N`, a path
//! of flinkrs's own (Flink's SQL client reads them through its collect sink's coordinator).
//!
//! A job submitted with `collectResults` runs its script's closing `SELECT` into a collect
//! sink. The client asks for the batches from offset 0, then from `offset` plus the number
//! of batches it got, and so on; asking from an offset acknowledges every batch before it,
//! which the sink then drops. The sink waits while the client does not read, so a slow
//! client slows the job down.
//!
//! ```json
//! {"state": "RUNNING", "attempt": 0, "offset": 0,
//!  "batches": [[{"kind": "Insert", "values": ["1", null]}]], "finished": false}
//! ```

use serde::{Deserialize, Serialize};

use super::JobState;

/// A page of a job's results.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct JobResultsResponse {
    /// The job's state now.
    pub state: JobState,
    /// The attempt whose rows these are. When it changes, the job restarted from a
    /// checkpoint and the new attempt's rows start again at offset 0: rows shown before the
    /// restart may come again.
    pub attempt: u32,
    /// The offset of the first batch.
    pub offset: u64,
    /// The batches, each a JSON array of rows as the SQL client renders them.
    pub batches: Vec<serde_json::Value>,
    /// Every row was read: the job finished and no batch follows these.
    pub finished: bool,
    /// Why the job failed, or that it was cancelled, when it ended without finishing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<String>,
}
