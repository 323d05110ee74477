//! Every integration test of `flinkrs-api`, one module per file, in one test binary: linked
//! once instead of once per file, which keeps a cold build's time and disk down.
//! `cargo test -p flinkrs-api --test suite <module>::` runs one file's tests.

#[path = "backpressure.rs"]
mod backpressure;
#[path = "batch_mode.rs"]
mod batch_mode;
#[path = "checkpointing.rs"]
mod checkpointing;
#[path = "failover.rs"]
mod failover;
#[path = "failures.rs"]
mod failures;
#[path = "final_checkpoint.rs"]
mod final_checkpoint;
#[path = "keyed.rs"]
mod keyed;
#[path = "mailbox.rs"]
mod mailbox;
#[path = "metrics.rs"]
mod metrics;
#[path = "operator_ids.rs"]
mod operator_ids;
#[path = "spanning.rs"]
mod spanning;
#[path = "time.rs"]
mod time;
#[path = "transformations.rs"]
mod transformations;
#[path = "window_count.rs"]
mod window_count;
#[path = "window_event_time.rs"]
mod window_event_time;
