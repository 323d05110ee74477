//! Apply the children with server-side apply: one field manager, forced, so the
//! operator's view of each child wins over a hand edit, and fields the operator
//! no longer sets are dropped.

use k8s_openapi::{
    NamespaceResourceScope,
    api::{
        apps::v1::Deployment,
        core::v1::{ConfigMap, Service},
    },
};
use kube::{
    Api, Resource, ResourceExt,
    api::{Patch, PatchParams},
};
use serde::{Serialize, de::DeserializeOwned};

use super::{FIELD_MANAGER, Target};
use crate::{
    Error, Result,
    crd::{FlinkJobSpec, FlinkJobStatus},
    resources::{Children, ClusterPlan, build_children, config_map},
};

/// Builds the children for `spec` and applies them, as `status` records them: its restore
/// path and its cluster generation.
pub async fn apply_cluster(
    target: &Target<'_>,
    spec: &FlinkJobSpec,
    status: &FlinkJobStatus,
    suspended: bool,
) -> Result<()> {
    let plan = ClusterPlan {
        job: target.job,
        spec,
        restore_from: status.restore_path.as_deref(),
        suspended,
        cluster_generation: status.cluster_generation,
    };
    let Children {
        config_map,
        jobmanager_service,
        jobmanager_deployment,
        taskmanager_deployment,
    } = build_children(&plan).map_err(|invalid| Error::InvalidSpec {
        resource: target.key(),
        field: invalid.field.to_owned(),
        message: invalid.message,
    })?;
    apply_one::<ConfigMap>(target, &config_map).await?;
    apply_one::<Service>(target, &jobmanager_service).await?;
    apply_one::<Deployment>(target, &jobmanager_deployment).await?;
    apply_one::<Deployment>(target, &taskmanager_deployment).await?;
    Ok(())
}

async fn apply_one<K>(target: &Target<'_>, object: &K) -> Result<()>
where
    K: Resource<Scope = NamespaceResourceScope, DynamicType = ()>
        + Clone
        + std::fmt::Debug
        + Serialize
        + DeserializeOwned,
{
    let api: Api<K> = Api::namespaced(target.ctx.client.clone(), &target.namespace);
    let name = object.name_any();
    api.patch(
        &name,
        &PatchParams::apply(FIELD_MANAGER).force(),
        &Patch::Apply(object),
    )
    .await
    .map_err(Error::kubernetes(format!(
        "applying {} {}/{name}",
        K::kind(&()),
        target.namespace
    )))?;
    Ok(())
}

/// Points the ConfigMap's restore path (`execution.savepoint.path`) at `restore_path`
/// without touching the Deployments, so no pod restarts now; a JobManager pod that later
/// restarts on its own starts from there rather than from the state its deployment began
/// with.
pub async fn apply_restore_path(
    target: &Target<'_>,
    spec: &FlinkJobSpec,
    status: &FlinkJobStatus,
    restore_path: &str,
) -> Result<()> {
    let plan = ClusterPlan {
        job: target.job,
        spec,
        restore_from: Some(restore_path),
        suspended: false,
        cluster_generation: status.cluster_generation,
    };
    apply_one::<ConfigMap>(target, &config_map(&plan)).await
}
