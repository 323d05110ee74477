//! Submitting a job: `POST /flinkrs/jobs`, a path of flinkrs's own.
//!
//! Flink submits a jar (`POST /jars/upload`, then `POST /jars/:jarid/run`); flinkrs has no jars,
//! so a client names one of the built-in jobs (`flinkrs examples`) with the options
//! `flinkrs run` takes. The body keeps the field names of Flink's `JarRunRequestBody` where it
//! has the same thing (`parallelism`, `savepointPath`, `allowNonRestoredState`,
//! `flinkConfiguration`), and the answer is Flink's jar-run response, `{"jobid": "…"}`, with
//! status 202: the job is starting.
//!
//! ```json
//! {"example": "wordcount", "input": "/data/books", "rate": 100, "parallelism": 4,
//!  "savepointPath": "/savepoints/savepoint-3f9c01-5bd6e9a8c1f2",
//!  "allowNonRestoredState": false,
//!  "flinkConfiguration": {"execution.checkpointing.interval": "10s"}}
//! ```
//!
//! Unknown fields are refused (a misspelt `paralelism` is a 400 that names it, not a job
//! silently run at the default parallelism).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The body of `POST /flinkrs/jobs`: which built-in job to run, and how.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobSubmitRequest {
    /// The built-in job (`flinkrs examples`): `wordcount`, `scoreboard`, …; empty for a SQL
    /// job.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub example: String,
    /// A SQL job instead of a built-in one: a Flink SQL script whose `INSERT INTO` is the job
    /// (as `flinkrs run --sql-file` runs it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sql: Option<String>,
    /// The SQL script ends with a `SELECT` whose rows the client reads from `GET
    /// /flinkrs/jobs/:id/results` (the SQL client's `-m`).
    #[serde(rename = "collectResults", default, skip_serializing_if = "is_false")]
    pub collect_results: bool,
    /// `--input`: a file or directory the JobManager and TaskManagers can read, instead of the
    /// job's built-in data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input: Option<String>,
    /// `--output`: a directory the results are committed to, instead of printed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<String>,
    /// `--rate`: the most records per second the job's source emits; unthrottled when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate: Option<u64>,
    /// `-p`: the job's parallelism (`parallelism.default`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parallelism: Option<u32>,
    /// `-s`: the checkpoint or savepoint to restore from (`execution.state-recovery.path`).
    #[serde(
        rename = "savepointPath",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub savepoint_path: Option<String>,
    /// `-n`: restore even if the savepoint holds state of operators the job no longer has
    /// (`execution.state-recovery.ignore-unclaimed-state`).
    #[serde(rename = "allowNonRestoredState", default)]
    pub allow_non_restored_state: bool,
    /// `-D key=value`: the job's configuration, with Flink's key names.
    #[serde(
        rename = "flinkConfiguration",
        default,
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub flink_configuration: BTreeMap<String, String>,
}

fn is_false(value: &bool) -> bool {
    !value
}

/// `202` to a submission: the new job's id, as Flink's `JarRunResponseBody`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobSubmitResponse {
    /// 32 hexadecimal digits.
    pub jobid: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_is_written_with_flinks_jar_run_field_names() {
        let request = JobSubmitRequest {
            example: "wordcount".into(),
            rate: Some(20),
            parallelism: Some(4),
            savepoint_path: Some("/sp/savepoint-1".into()),
            allow_non_restored_state: true,
            flink_configuration: BTreeMap::from([("pipeline.name".into(), "wc".into())]),
            ..JobSubmitRequest::default()
        };
        assert_eq!(
            serde_json::to_string(&request).unwrap(),
            r#"{"example":"wordcount","rate":20,"parallelism":4,"savepointPath":"/sp/savepoint-1","allowNonRestoredState":true,"flinkConfiguration":{"pipeline.name":"wc"}}"#
        );
        let back: JobSubmitRequest =
            serde_json::from_str(&serde_json::to_string(&request).unwrap()).unwrap();
        assert_eq!(back, request);
    }

    #[test]
    fn a_request_names_an_example_or_a_sql_script() {
        let request: JobSubmitRequest =
            serde_json::from_str(r#"{"example":"scoreboard"}"#).unwrap();
        assert_eq!(
            request,
            JobSubmitRequest {
                example: "scoreboard".into(),
                ..JobSubmitRequest::default()
            }
        );
        let sql: JobSubmitRequest =
            serde_json::from_str(r#"{"sql":"INSERT INTO t SELECT 1;"}"#).unwrap();
        assert_eq!(sql.example, "");
        assert_eq!(sql.sql.as_deref(), Some("INSERT INTO t SELECT 1;"));
    }

    #[test]
    fn a_misspelt_field_is_refused_with_its_name() {
        let error =
            serde_json::from_str::<JobSubmitRequest>(r#"{"example":"wordcount","paralelism":2}"#)
                .unwrap_err()
                .to_string();
        assert!(
            error.starts_with("unknown field `paralelism`, expected one of `example`, "),
            "{error}"
        );
    }

    #[test]
    fn the_answer_is_flinks_jar_run_response() {
        let response = JobSubmitResponse {
            jobid: "3f9c01a2b4c6d8e0f1a3b5c7d9e1f3a5".into(),
        };
        assert_eq!(
            serde_json::to_string(&response).unwrap(),
            r#"{"jobid":"3f9c01a2b4c6d8e0f1a3b5c7d9e1f3a5"}"#
        );
    }
}
