//! Kubernetes events on the FlinkJob, shown by `kubectl describe fj/NAME`.

use kube::{
    Resource,
    runtime::events::{Event, EventType},
};

use super::Target;

/// Publishes an event. A failure to publish is logged, not fatal: events are for
/// people, the status is the record.
pub async fn publish(target: &Target<'_>, type_: EventType, reason: &str, note: String) {
    match type_ {
        EventType::Normal => tracing::info!(flinkjob = %target.key(), reason, "{note}"),
        EventType::Warning => tracing::warn!(flinkjob = %target.key(), reason, "{note}"),
    }
    let event = Event {
        type_,
        reason: reason.to_owned(),
        note: Some(note),
        action: reason.to_owned(),
        secondary: None,
    };
    if let Err(error) = target
        .ctx
        .recorder
        .publish(&event, &target.job.object_ref(&()))
        .await
    {
        tracing::warn!(flinkjob = %target.key(), %error, "could not publish an event");
    }
}
