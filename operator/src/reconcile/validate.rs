//! Validate: what the CRD's CEL rules cannot check, or what an older CRD might
//! have let through. A problem stops the reconcile before anything changes and
//! is reported on the FlinkJob (phase Failed, condition Degraded, a Warning event).

use crate::{
    crd::FlinkJob,
    resources::{ClusterPlan, build_children},
};

/// A field the user must fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecProblem {
    pub field: String,
    pub message: String,
}

pub fn validate_spec(job: &FlinkJob) -> Result<(), SpecProblem> {
    let spec = &job.spec;
    let problem = |field: &str, message: &str| {
        Err(SpecProblem {
            field: field.to_owned(),
            message: message.to_owned(),
        })
    };
    if spec.parallelism < 1 {
        return problem("spec.parallelism", "must be at least 1");
    }
    if spec.task_manager.slots < 1 {
        return problem("spec.taskManager.slots", "must be at least 1");
    }
    let sources = [
        spec.job.sql.is_some(),
        spec.job.builtin.is_some(),
        spec.job.args.is_some(),
    ];
    if sources.iter().filter(|set| **set).count() != 1 {
        return problem("spec.job", "must set exactly one of sql, builtin or args");
    }
    let builtin_only = [
        ("spec.job.input", spec.job.input.is_some()),
        ("spec.job.output", spec.job.output.is_some()),
        ("spec.job.rate", spec.job.rate.is_some()),
    ];
    if spec.job.builtin.is_none()
        && let Some((field, _)) = builtin_only.iter().find(|(_, set)| *set)
    {
        return problem(
            field,
            "applies to builtin jobs only; a SQL job names its tables' paths in CREATE TABLE, \
             and a program takes its own arguments in job.args",
        );
    }
    if spec.job.rate == Some(0) {
        return problem(
            "spec.job.rate",
            "must be a positive number of records per second",
        );
    }
    // The runtime refuses a configuration with a key it does not know, so the pods would
    // exit at start: say so here, naming the key.
    if let Some(unknown) = spec
        .flink_configuration
        .keys()
        .find(|key| !flinkrs_contract::config::is_known_key(key))
    {
        return Err(SpecProblem {
            field: format!("spec.flinkConfiguration.{unknown}"),
            message: format!(
                "'{unknown}' is not a configuration key the flinkrs runtime knows; the keys it \
                 accepts are listed by `flinkrs run --help`"
            ),
        });
    }
    let plan = ClusterPlan {
        job,
        spec,
        restore_from: None,
        suspended: false,
        cluster_generation: 0,
        high_availability: false,
        default_service_account: None,
    };
    build_children(&plan)
        .map(|_| ())
        .map_err(|invalid| SpecProblem {
            field: invalid.field.to_owned(),
            message: invalid.message,
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crd::FlinkJobSpec;

    fn job(spec: serde_json::Value) -> FlinkJob {
        FlinkJob::new(
            "orders",
            serde_json::from_value::<FlinkJobSpec>(spec).expect("a spec"),
        )
    }

    #[test]
    fn problems_an_old_crd_would_let_through_name_the_field() {
        let zero = job(
            serde_json::json!({"image": "i", "job": {"builtin": "wordcount"}, "parallelism": 0}),
        );
        assert_eq!(
            validate_spec(&zero),
            Err(SpecProblem {
                field: "spec.parallelism".into(),
                message: "must be at least 1".into()
            })
        );
        let two_sources = job(
            serde_json::json!({"image": "i", "job": {"builtin": "wordcount", "sql": "SELECT 1"}, "parallelism": 1}),
        );
        assert_eq!(
            validate_spec(&two_sources).map_err(|p| p.field),
            Err("spec.job".to_owned())
        );
        let template = job(serde_json::json!({
            "image": "i", "job": {"builtin": "wordcount"}, "parallelism": 1,
            "podTemplate": {"spec": {"nodeSelector": ["not", "a", "map"]}}
        }));
        assert_eq!(
            validate_spec(&template).map_err(|p| p.field),
            Err("spec.podTemplate".to_owned())
        );
        let typo = job(serde_json::json!({
            "image": "i", "job": {"builtin": "wordcount"}, "parallelism": 1,
            "flinkConfiguration": {"pipeline.name": "orders", "pipeline.max-paralelism": "256"}
        }));
        assert_eq!(
            validate_spec(&typo),
            Err(SpecProblem {
                field: "spec.flinkConfiguration.pipeline.max-paralelism".into(),
                message: "'pipeline.max-paralelism' is not a configuration key the flinkrs \
                          runtime knows; the keys it accepts are listed by `flinkrs run --help`"
                    .into()
            })
        );
        let fine = job(
            serde_json::json!({"image": "i", "job": {"builtin": "wordcount"}, "parallelism": 1}),
        );
        assert_eq!(validate_spec(&fine), Ok(()));
        let sql_output = job(serde_json::json!({
            "image": "i", "job": {"sql": "SELECT 1", "output": "s3://b/out"}, "parallelism": 1
        }));
        assert_eq!(
            validate_spec(&sql_output).map_err(|p| p.field),
            Err("spec.job.output".to_owned())
        );
        let zero_rate = job(serde_json::json!({
            "image": "i", "job": {"builtin": "wordcount", "rate": 0}, "parallelism": 1
        }));
        assert_eq!(
            validate_spec(&zero_rate).map_err(|p| p.field),
            Err("spec.job.rate".to_owned())
        );
    }

    #[test]
    fn a_builtin_jobs_input_output_and_rate_reach_the_jobmanagers_command_line() {
        let orders = job(serde_json::json!({
            "image": "i", "parallelism": 2,
            "job": {"builtin": "wordcount", "input": "/data/books", "output": "s3://b/counts", "rate": 50}
        }));
        assert_eq!(validate_spec(&orders), Ok(()));
        let plan = ClusterPlan {
            job: &orders,
            spec: &orders.spec,
            restore_from: None,
            suspended: false,
            cluster_generation: 0,
            high_availability: false,
            default_service_account: None,
        };
        let children = build_children(&plan).unwrap();
        let pod = children
            .jobmanager_deployment
            .spec
            .unwrap()
            .template
            .spec
            .unwrap();
        let args = pod.containers[0].args.clone().unwrap();
        let tail: Vec<&str> = args
            .iter()
            .map(String::as_str)
            .skip_while(|a| *a != "--example")
            .collect();
        assert_eq!(
            tail,
            [
                "--example",
                "wordcount",
                "--input",
                "/data/books",
                "--output",
                "s3://b/counts",
                "--rate",
                "50"
            ]
        );
        flinkrs_contract::cli::parse_pod_args(&args).unwrap();
    }
}
