//! A job as every process of a cluster builds it: the [`JobSpec`] a client submits or the
//! JobManager starts with, turned into the same program on the JobManager and on each
//! TaskManager (architecture decision 10).

use std::path::PathBuf;

use crate::rpc::messages::JobSpec;
use crate::run::{RunRequest, SqlScript};

/// The spec of a `flinkrs run` request: `-p` becomes `parallelism.default`.
pub fn spec_of(request: &RunRequest) -> JobSpec {
    let mut properties = request.dynamic_properties.clone();
    if let Some(parallelism) = request.parallelism {
        properties.push(format!("parallelism.default={parallelism}"));
    }
    let path = |path: &Option<PathBuf>| {
        path.as_ref()
            .map(|path| path.display().to_string())
            .unwrap_or_default()
    };
    JobSpec {
        example: request.example.clone(),
        input: path(&request.input),
        output: path(&request.output),
        records_per_second: request.records_per_second.unwrap_or(0),
        properties,
        sql: request
            .sql
            .as_ref()
            .map(|s| s.text.clone())
            .unwrap_or_default(),
        sql_origin: request
            .sql
            .as_ref()
            .map(|s| s.origin.clone())
            .unwrap_or_default(),
        sql_collect: request.sql.as_ref().is_some_and(|s| s.collect),
        ..JobSpec::default()
    }
}

/// The run request a spec stands for.
pub fn request_of(spec: &JobSpec) -> RunRequest {
    let path = |text: &str| (!text.is_empty()).then(|| PathBuf::from(text));
    RunRequest {
        example: spec.example.clone(),
        input: path(&spec.input),
        output: path(&spec.output),
        records_per_second: (spec.records_per_second > 0).then_some(spec.records_per_second),
        parallelism: None,
        dynamic_properties: spec.properties.clone(),
        sql: (!spec.sql.is_empty()).then(|| SqlScript {
            origin: spec.sql_origin.clone(),
            text: spec.sql.clone(),
            collect: spec.sql_collect,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_survives_the_trip_through_a_spec() {
        let request = RunRequest {
            example: "wordcount".to_owned(),
            input: Some(PathBuf::from("/data/books")),
            output: None,
            records_per_second: Some(5),
            parallelism: Some(4),
            dynamic_properties: vec!["pipeline.name=wc".to_owned()],
            sql: None,
        };
        let back = request_of(&spec_of(&request));
        assert_eq!(back.example, "wordcount");
        assert_eq!(back.input, Some(PathBuf::from("/data/books")));
        assert_eq!(back.output, None);
        assert_eq!(back.records_per_second, Some(5));
        assert_eq!(
            back.dynamic_properties,
            ["pipeline.name=wc", "parallelism.default=4"]
        );
        let script = SqlScript {
            origin: "job.sql".to_owned(),
            text: "INSERT INTO sink SELECT 1;".to_owned(),
            collect: false,
        };
        let sql = RunRequest {
            sql: Some(script.clone()),
            ..RunRequest::default()
        };
        assert_eq!(request_of(&spec_of(&sql)).sql, Some(script.clone()));
        let select = SqlScript {
            text: "SELECT 1;".to_owned(),
            collect: true,
            ..script
        };
        let collect = RunRequest {
            sql: Some(select.clone()),
            ..RunRequest::default()
        };
        assert_eq!(request_of(&spec_of(&collect)).sql, Some(select));
    }
}
