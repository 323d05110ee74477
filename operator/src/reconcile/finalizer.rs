//! The finalizer that lets the operator act (take a savepoint) before a FlinkJob
//! goes away. The children need no cleanup: their owner references let the
//! garbage collector delete them.

use kube::api::{Patch, PatchParams};
use serde_json::json;

use super::Target;
use crate::{Error, Result, crd::FlinkJob};

pub const FINALIZER: &str = "flinkrs.dev/finalizer";

pub fn has_finalizer(job: &FlinkJob) -> bool {
    job.metadata
        .finalizers
        .iter()
        .flatten()
        .any(|finalizer| finalizer == FINALIZER)
}

/// Adds the finalizer. The patch carries the resourceVersion, so it fails rather
/// than overwrite a finalizer list someone else changed meanwhile.
pub async fn add(target: &Target<'_>) -> Result<()> {
    let mut finalizers = target.job.metadata.finalizers.clone().unwrap_or_default();
    finalizers.push(FINALIZER.to_owned());
    patch_finalizers(target, finalizers, "adding the finalizer to").await
}

pub async fn remove(target: &Target<'_>) -> Result<()> {
    let finalizers: Vec<String> = target
        .job
        .metadata
        .finalizers
        .iter()
        .flatten()
        .filter(|finalizer| *finalizer != FINALIZER)
        .cloned()
        .collect();
    patch_finalizers(target, finalizers, "removing the finalizer from").await
}

async fn patch_finalizers(target: &Target<'_>, finalizers: Vec<String>, what: &str) -> Result<()> {
    let patch = json!({
        "metadata": {
            "finalizers": finalizers,
            "resourceVersion": target.job.metadata.resource_version,
        }
    });
    match target
        .api
        .patch(&target.name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
    {
        Ok(_) => Ok(()),
        // Already gone: nothing left to finalize.
        Err(kube::Error::Api(status)) if status.code == 404 => Ok(()),
        Err(error) => Err(Error::kubernetes(format!(
            "{what} FlinkJob {}",
            target.key()
        ))(error)),
    }
}
