//! Chains: operators of one task call each other directly, batch by batch.
//!
//! A chain is a tree of [`Input`](crate::input::Input)s: an operator wrapped in an
//! [`OperatorLink`], a [`FanOut`] to several consumers, [`Discard`] for an output nobody reads,
//! and channel writers at the chain's edges ([`Collect`] ends a chain in test harnesses). [`build`] assembles one subtask's chain from the
//! graphs.

pub mod build;
mod collect;
mod fan_out;
mod link;

pub use collect::Collect;
pub use fan_out::{Discard, FanOut};
pub use link::OperatorLink;
