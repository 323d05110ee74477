//! Helpers shared by the integration tests.

#[expect(
    dead_code,
    reason = "shared with tests/client.rs, which uses every helper"
)]
pub mod flinkrs;
pub mod http;
pub mod job;
