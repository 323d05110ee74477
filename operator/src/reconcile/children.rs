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
    api::{DeleteParams, Patch, PatchParams},
};
use serde::{Serialize, de::DeserializeOwned};

use super::{FIELD_MANAGER, Target};
use crate::{
    Error, Result,
    crd::{FlinkJobSpec, FlinkJobStatus},
    resources::{Children, ClusterPlan, build_children, config_map, high_availability_config_map},
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
        high_availability: target.ctx.job_defaults.high_availability(spec),
        default_service_account: target.ctx.job_defaults.service_account.as_deref(),
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
    if let Some(high_availability) = high_availability_config_map(&plan) {
        apply_one::<ConfigMap>(target, &high_availability).await?;
    }
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
        high_availability: target.ctx.job_defaults.high_availability(spec),
        default_service_account: target.ctx.job_defaults.service_account.as_deref(),
    };
    apply_one::<ConfigMap>(target, &config_map(&plan)).await
}

/// Deletes the cluster's high-availability ConfigMap, so that the next JobManager does not
/// recover the job from the latest checkpoint recorded there but starts it as the operator
/// says (from a savepoint, a path the user chose, or empty). The next `apply_cluster` creates
/// it again, empty.
pub async fn clear_high_availability(
    target: &Target<'_>,
    spec: &FlinkJobSpec,
    status: &FlinkJobStatus,
) -> Result<()> {
    let plan = ClusterPlan {
        job: target.job,
        spec,
        restore_from: None,
        suspended: false,
        cluster_generation: status.cluster_generation,
        high_availability: target.ctx.job_defaults.high_availability(spec),
        default_service_account: target.ctx.job_defaults.service_account.as_deref(),
    };
    let Some(high_availability) = high_availability_config_map(&plan) else {
        return Ok(());
    };
    let name = high_availability.name_any();
    let api: Api<ConfigMap> = Api::namespaced(target.ctx.client.clone(), &target.namespace);
    match api.delete(&name, &DeleteParams::default()).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(status)) if status.code == 404 => Ok(()),
        Err(error) => Err(Error::kubernetes(format!(
            "deleting the high-availability ConfigMap {}/{name}",
            target.namespace
        ))(error)),
    }
}
