//! `POST /flinkrs/jobs`: the body ([`JobSubmitRequest`]) read into the [`RunRequest`] that
//! `flinkrs run` would make from the same options, refused with a message that names the
//! field when the job could not run as asked: an unknown example, a parallelism or rate of 0,
//! an unknown configuration key or a malformed value.

use flinkrs_contract::config::{IGNORE_UNCLAIMED_STATE, STATE_RECOVERY_PATH};
use flinkrs_contract::rest::JobSubmitRequest;
use flinkrs_core::Configuration;

use crate::run::{RunRequest, SqlScript};

/// Reads a submission's body, or says what is wrong with it.
pub(super) fn parse(body: &[u8]) -> Result<RunRequest, String> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(
            "the body is empty; POST /flinkrs/jobs takes a JSON object such as \
             {\"example\": \"wordcount\", \"parallelism\": 2} (see `flinkrs examples`)"
                .to_owned(),
        );
    }
    let request: JobSubmitRequest = serde_json::from_slice(body).map_err(|reason| {
        format!("Request did not match expected format JobSubmitRequest: {reason}")
    })?;
    run_request_of(&request)
}

/// The run request a submission stands for: `flinkConfiguration` as `-D` properties, then
/// `savepointPath` and `allowNonRestoredState` as `-s` and `-n` set them; `parallelism` as
/// `-p`. Every value is checked as the job would check it when it starts.
pub fn run_request_of(request: &JobSubmitRequest) -> Result<RunRequest, String> {
    let sql = sql_script_of(request)?;
    if sql.is_none() && request.example.is_empty() {
        return Err(
            "the request names no job: set example (a built-in job, see `flinkrs examples`) \
             or sql (a Flink SQL script whose INSERT INTO is the job)"
                .into(),
        );
    }
    if sql.is_none() && flinkrs_jobs::find(&request.example).is_none() {
        let names: Vec<&str> = flinkrs_jobs::JOBS.iter().map(|job| job.name).collect();
        return Err(format!(
            "unknown example '{}'; the examples are: {}",
            request.example,
            names.join(", ")
        ));
    }
    if request.parallelism == Some(0) {
        return Err("parallelism must be at least 1 (leave it out for parallelism.default)".into());
    }
    if request.rate == Some(0) {
        return Err(
            "rate must be at least 1 record per second (leave it out for an unthrottled source)"
                .into(),
        );
    }
    let mut config = Configuration::new();
    let mut properties = Vec::new();
    for (key, value) in &request.flink_configuration {
        config
            .set(key, value.as_str())
            .map_err(|error| format!("flinkConfiguration: {error}"))?;
        properties.push(format!("{key}={value}"));
    }
    if let Some(path) = &request.savepoint_path {
        if path.trim().is_empty() {
            return Err(
                "savepointPath is empty; name a chk-<n> or savepoint folder, or leave it out"
                    .into(),
            );
        }
        properties.push(format!("{STATE_RECOVERY_PATH}={path}"));
    }
    if request.allow_non_restored_state {
        properties.push(format!("{IGNORE_UNCLAIMED_STATE}=true"));
    }
    let path = |text: &Option<String>| text.as_ref().map(Into::into);
    Ok(RunRequest {
        example: request.example.clone(),
        input: path(&request.input),
        output: path(&request.output),
        records_per_second: request.rate,
        parallelism: request.parallelism.map(|parallelism| parallelism as usize),
        dynamic_properties: properties,
        sql,
    })
}

/// A SQL job's script, planned once here so that a bad one is refused with its error.
fn sql_script_of(request: &JobSubmitRequest) -> Result<Option<SqlScript>, String> {
    let Some(text) = &request.sql else {
        return Ok(None);
    };
    if !request.example.is_empty() {
        return Err("set either example or sql, not both".into());
    }
    if request.input.is_some() || request.output.is_some() || request.rate.is_some() {
        return Err(
            "input, output and rate are options of the built-in examples; a SQL job reads and \
             writes the tables its script creates"
                .into(),
        );
    }
    let script = SqlScript {
        origin: "the submitted SQL script".to_owned(),
        text: text.clone(),
        collect: request.collect_results,
    };
    script.job().map_err(|error| error.to_string())?;
    Ok(Some(script))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::path::PathBuf;

    use super::*;

    #[test]
    fn a_submission_becomes_the_request_flinkrs_run_makes_from_the_same_options() {
        let request = parse(
            br#"{"example": "wordcount", "input": "/data/books", "rate": 5, "parallelism": 3,
                 "savepointPath": "/sp/savepoint-1", "allowNonRestoredState": true,
                 "flinkConfiguration": {"pipeline.name": "wc", "execution.checkpointing.interval": "1s"}}"#,
        )
        .unwrap();
        assert_eq!(request.example, "wordcount");
        assert_eq!(request.input, Some(PathBuf::from("/data/books")));
        assert_eq!(request.output, None);
        assert_eq!(request.records_per_second, Some(5));
        assert_eq!(request.parallelism, Some(3));
        assert_eq!(
            request.dynamic_properties,
            [
                "execution.checkpointing.interval=1s",
                "pipeline.name=wc",
                "execution.state-recovery.path=/sp/savepoint-1",
                "execution.state-recovery.ignore-unclaimed-state=true",
            ]
        );
    }

    #[test]
    fn a_malformed_body_is_refused_saying_what_is_wrong() {
        assert_eq!(
            parse(b"  ").unwrap_err(),
            "the body is empty; POST /flinkrs/jobs takes a JSON object such as \
             {\"example\": \"wordcount\", \"parallelism\": 2} (see `flinkrs examples`)"
        );
        assert_eq!(
            parse(b"{\"example\": ").unwrap_err(),
            "Request did not match expected format JobSubmitRequest: EOF while parsing a value \
             at line 1 column 12"
        );
        assert_eq!(
            parse(br#"{"example": "wordcount", "parallelism": "two"}"#).unwrap_err(),
            "Request did not match expected format JobSubmitRequest: invalid type: string \
             \"two\", expected u32 at line 1 column 45"
        );
    }

    #[test]
    fn values_the_job_could_not_run_with_are_refused_naming_them() {
        let refused = |request: JobSubmitRequest| run_request_of(&request).unwrap_err();
        let names: Vec<&str> = flinkrs_jobs::JOBS.iter().map(|job| job.name).collect();
        assert_eq!(
            refused(JobSubmitRequest {
                example: "wordcunt".into(),
                ..JobSubmitRequest::default()
            }),
            format!(
                "unknown example 'wordcunt'; the examples are: {}",
                names.join(", ")
            )
        );
        let wordcount = || JobSubmitRequest {
            example: "wordcount".into(),
            ..JobSubmitRequest::default()
        };
        assert_eq!(
            refused(JobSubmitRequest {
                parallelism: Some(0),
                ..wordcount()
            }),
            "parallelism must be at least 1 (leave it out for parallelism.default)"
        );
        assert_eq!(
            refused(JobSubmitRequest {
                rate: Some(0),
                ..wordcount()
            }),
            "rate must be at least 1 record per second (leave it out for an unthrottled source)"
        );
        let unknown_key = refused(JobSubmitRequest {
            flink_configuration: BTreeMap::from([(
                "taskmanager.numberOfTaskSlot".into(),
                "2".into(),
            )]),
            ..wordcount()
        });
        assert!(
            unknown_key.starts_with(
                "flinkConfiguration: configuration key 'taskmanager.numberOfTaskSlot': unknown \
                 key; known keys are: parallelism.default, "
            ),
            "{unknown_key}"
        );
        assert_eq!(
            refused(JobSubmitRequest {
                flink_configuration: BTreeMap::from([("parallelism.default".into(), "x".into())]),
                ..wordcount()
            }),
            "flinkConfiguration: configuration key 'parallelism.default': 'x' is not a whole \
             number of at least 1"
        );
        assert_eq!(
            refused(JobSubmitRequest {
                savepoint_path: Some(" ".into()),
                ..wordcount()
            }),
            "savepointPath is empty; name a chk-<n> or savepoint folder, or leave it out"
        );
    }

    #[test]
    fn a_sql_submission_names_its_script_and_nothing_of_an_example() {
        let refused = |request: JobSubmitRequest| run_request_of(&request).unwrap_err();
        assert_eq!(
            refused(JobSubmitRequest::default()),
            "the request names no job: set example (a built-in job, see `flinkrs examples`) or \
             sql (a Flink SQL script whose INSERT INTO is the job)"
        );
        let sql = |text: &str| JobSubmitRequest {
            sql: Some(text.to_owned()),
            ..JobSubmitRequest::default()
        };
        let script = "CREATE TABLE t (n INT) WITH ('connector' = 'blackhole');\n\
                      INSERT INTO t SELECT 1;";
        assert_eq!(
            refused(JobSubmitRequest {
                example: "wordcount".into(),
                ..sql(script)
            }),
            "set either example or sql, not both"
        );
        assert_eq!(
            refused(JobSubmitRequest {
                output: Some("/tmp/out".into()),
                ..sql(script)
            }),
            "input, output and rate are options of the built-in examples; a SQL job reads and \
             writes the tables its script creates"
        );
        assert_eq!(
            refused(sql("INSERT INTO missing SELECT 1;")),
            "the submitted SQL script, line 1: Object 'missing' not found within \
             'default_catalog.default_database'"
        );
        let accepted = run_request_of(&sql(script)).unwrap();
        assert_eq!(accepted.sql.map(|s| s.text), Some(script.to_owned()));
    }
}
