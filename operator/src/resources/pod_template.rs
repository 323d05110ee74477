//! `spec.podTemplate`: the user's pod settings, with the operator's pod laid on top.
//!
//! Objects merge key by key. Lists of named items (containers, env, volumes,
//! ports, volume mounts) merge by `name`, so a user can add a sidecar, an env var
//! or a volume mount to the `flink-main-container`. Where both set the same
//! scalar, the operator's value wins: it is what makes the pod a JobManager or
//! TaskManager.

use k8s_openapi::api::core::v1::PodTemplateSpec;
use serde_json::Value;

use super::InvalidField;

/// Lists whose items are identified by their `name` field.
const NAMED_LISTS: [&str; 7] = [
    "containers",
    "initContainers",
    "env",
    "volumes",
    "volumeMounts",
    "ports",
    "imagePullSecrets",
];

pub fn merge_pod_template(
    user: &Value,
    operator: PodTemplateSpec,
) -> Result<PodTemplateSpec, InvalidField> {
    merge_pod_template_of("spec.podTemplate", user, operator)
}

/// The user's templates of one component: `spec.podTemplate`, with the component's own
/// (`spec.jobManager.podTemplate`, `spec.taskManager.podTemplate`) laid on top, then the
/// operator's pod. Each template is checked on its own, so an error names its field.
pub fn merge_component_templates(
    common: Option<&Value>,
    component: Option<(&'static str, &Value)>,
    operator: PodTemplateSpec,
) -> Result<PodTemplateSpec, InvalidField> {
    match (common, component) {
        (None, None) => Ok(operator),
        (Some(common), None) => merge_pod_template(common, operator),
        (None, Some((field, own))) => merge_pod_template_of(field, own, operator),
        (Some(common), Some((field, own))) => {
            merge_pod_template(common, operator.clone())?;
            merge_pod_template_of(field, own, operator.clone())?;
            let mut both = common.clone();
            merge(&mut both, own.clone());
            merge_pod_template_of(field, &both, operator)
        }
    }
}

fn merge_pod_template_of(
    field: &'static str,
    user: &Value,
    operator: PodTemplateSpec,
) -> Result<PodTemplateSpec, InvalidField> {
    let invalid = |message: String| InvalidField { field, message };
    if !user.is_object() {
        return Err(invalid(
            "must be an object with metadata and spec, like a Deployment's template".into(),
        ));
    }
    // Reading the user's template as a PodTemplateSpec first reports a typo'd
    // field type against the user's input, not against the merged result.
    // A template may leave out `containers` (the operator brings the main one).
    let mut checked = user.clone();
    if let Some(spec) = checked.get_mut("spec").and_then(Value::as_object_mut) {
        spec.entry("containers")
            .or_insert_with(|| Value::Array(Vec::new()));
    }
    serde_json::from_value::<PodTemplateSpec>(checked)
        .map_err(|error| invalid(format!("is not a valid pod template: {error}")))?;
    let operator = serde_json::to_value(operator)
        .map_err(|error| invalid(format!("could not be merged: {error}")))?;
    let mut merged = user.clone();
    merge(&mut merged, operator);
    serde_json::from_value(merged).map_err(|error| invalid(format!("could not be merged: {error}")))
}

fn merge(base: &mut Value, overlay: Value) {
    match (base, overlay) {
        (Value::Object(base), Value::Object(overlay)) => {
            for (key, value) in overlay {
                match base.get_mut(&key) {
                    Some(existing) if NAMED_LISTS.contains(&key.as_str()) => {
                        merge_named_list(existing, value)
                    }
                    Some(existing) => merge(existing, value),
                    None => {
                        base.insert(key, value);
                    }
                }
            }
        }
        (base, overlay) => *base = overlay,
    }
}

fn merge_named_list(base: &mut Value, overlay: Value) {
    let (Value::Array(base_items), Value::Array(overlay_items)) = (&mut *base, &overlay) else {
        *base = overlay;
        return;
    };
    for item in overlay_items {
        let name = item.get("name");
        match base_items
            .iter_mut()
            .find(|existing| name.is_some() && existing.get("name") == name)
        {
            Some(existing) => merge(existing, item.clone()),
            None => base_items.push(item.clone()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn operator_template() -> PodTemplateSpec {
        serde_json::from_value(json!({
            "metadata": {"labels": {"app": "flinkrs"}},
            "spec": {"containers": [{
                "name": "flink-main-container",
                "image": "flinkrs:1",
                "env": [{"name": "POD_IP", "value": "x"}]
            }]}
        }))
        .expect("a valid template")
    }

    #[test]
    fn user_env_sidecars_and_node_selector_survive_and_operator_fields_win() {
        let user = json!({
            "metadata": {"labels": {"team": "data", "app": "mine"}},
            "spec": {
                "nodeSelector": {"pool": "flink"},
                "containers": [
                    {"name": "flink-main-container", "image": "ignored",
                     "env": [{"name": "RUST_LOG", "value": "debug"}]},
                    {"name": "log-shipper", "image": "shipper:1"}
                ]
            }
        });
        let merged =
            serde_json::to_value(merge_pod_template(&user, operator_template()).unwrap()).unwrap();
        assert_eq!(
            merged,
            json!({
                "metadata": {"labels": {"team": "data", "app": "flinkrs"}},
                "spec": {
                    "nodeSelector": {"pool": "flink"},
                    "containers": [
                        {"name": "flink-main-container", "image": "flinkrs:1",
                         "env": [{"name": "RUST_LOG", "value": "debug"}, {"name": "POD_IP", "value": "x"}]},
                        {"name": "log-shipper", "image": "shipper:1"}
                    ]
                }
            })
        );
    }

    #[test]
    fn a_template_without_containers_is_fine() {
        let user = json!({"spec": {"tolerations": [{"key": "dedicated", "operator": "Exists"}]}});
        let merged = merge_pod_template(&user, operator_template()).unwrap();
        let spec = merged.spec.unwrap();
        assert_eq!(spec.containers.len(), 1);
        assert_eq!(
            spec.tolerations.unwrap()[0].key.as_deref(),
            Some("dedicated")
        );
    }

    #[test]
    fn a_malformed_template_names_the_field() {
        let error = merge_pod_template(
            &json!({"spec": {"containers": "nope"}}),
            operator_template(),
        )
        .unwrap_err();
        assert_eq!(error.field, "spec.podTemplate");
        assert!(
            error
                .message
                .starts_with("is not a valid pod template: invalid type: string"),
            "{}",
            error.message
        );
    }
}
