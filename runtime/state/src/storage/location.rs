//! Where checkpoints are: a local folder or an S3 prefix, parsed from the value of
//! `execution.checkpointing.dir` or `execution.state-recovery.path`.

use std::fmt;
use std::path::{Path, PathBuf};

/// A folder or file of checkpoint storage. Printed, it is what `flinkrs run -s` takes back: a
/// local path, or an `s3://bucket/key` URI.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum CheckpointLocation {
    Local(PathBuf),
    S3(S3Location),
}

/// An object or prefix in an S3 bucket.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct S3Location {
    pub bucket: String,
    /// The key (or key prefix), without leading or trailing `/`; empty for the bucket's root.
    pub key: String,
}

impl S3Location {
    /// The key of the folder's content: `key/`, or nothing at the bucket's root.
    pub fn folder_prefix(&self) -> String {
        if self.key.is_empty() {
            String::new()
        } else {
            format!("{}/", self.key)
        }
    }
}

impl CheckpointLocation {
    pub fn local(path: impl Into<PathBuf>) -> Self {
        CheckpointLocation::Local(path.into())
    }

    /// Parses `value`, the value of configuration key `key`: a local path, `file://PATH` (or
    /// Flink's `file:/PATH`), or `s3://BUCKET/PREFIX` (`s3a://` too, as Flink accepts).
    /// Anything else is an error naming the key and the value.
    pub fn parse(key: &str, value: &str) -> flinkrs_core::Result<Self> {
        let value = value.trim();
        let invalid = |why: &str| {
            flinkrs_core::Error::config(
                key,
                format!(
                    "'{value}' is not a checkpoint location: {why}; use a local path, \
                     file:///PATH or s3://BUCKET/PREFIX"
                ),
            )
        };
        if value.is_empty() {
            return Err(invalid("it is empty"));
        }
        let Some((scheme, rest)) = split_scheme(value) else {
            return Ok(CheckpointLocation::Local(PathBuf::from(value)));
        };
        match scheme.to_ascii_lowercase().as_str() {
            "file" => {
                // file:///tmp/x and file:/tmp/x both name /tmp/x; file://localhost/tmp/x too.
                let path = rest
                    .strip_prefix("//")
                    .map(|authority_and_path| {
                        authority_and_path
                            .strip_prefix("localhost")
                            .unwrap_or(authority_and_path)
                    })
                    .unwrap_or(rest);
                if !path.starts_with('/') {
                    return Err(invalid(
                        "a file URI needs an absolute path, as in file:///tmp/x",
                    ));
                }
                Ok(CheckpointLocation::Local(PathBuf::from(path)))
            }
            "s3" | "s3a" => {
                let Some(rest) = rest.strip_prefix("//") else {
                    return Err(invalid("an S3 URI is written s3://BUCKET/PREFIX"));
                };
                let (bucket, key) = rest.split_once('/').unwrap_or((rest, ""));
                check_bucket_name(bucket).map_err(|why| invalid(&why))?;
                let key = key
                    .split('/')
                    .filter(|segment| !segment.is_empty())
                    .collect::<Vec<_>>()
                    .join("/");
                Ok(CheckpointLocation::S3(S3Location {
                    bucket: bucket.to_owned(),
                    key,
                }))
            }
            other => Err(invalid(&format!("the scheme '{other}' is not supported"))),
        }
    }

    /// `name` inside this folder.
    pub fn join(&self, name: &str) -> Self {
        match self {
            CheckpointLocation::Local(path) => CheckpointLocation::Local(path.join(name)),
            CheckpointLocation::S3(location) => CheckpointLocation::S3(S3Location {
                bucket: location.bucket.clone(),
                key: format!("{}{name}", location.folder_prefix()),
            }),
        }
    }

    /// The folder of checkpoint `checkpoint` of job `job_id` under this root, in Flink's
    /// layout: `<root>/<job-id>/chk-<n>`.
    pub fn checkpoint_folder(&self, job_id: &str, checkpoint: u64) -> Self {
        self.join(job_id).join(&format!("chk-{checkpoint}"))
    }

    /// The local path, for a location on the local filesystem.
    pub fn as_local(&self) -> Option<&Path> {
        match self {
            CheckpointLocation::Local(path) => Some(path),
            CheckpointLocation::S3(_) => None,
        }
    }

    /// The last segment of the path or key, if there is one.
    pub fn file_name(&self) -> Option<&str> {
        match self {
            CheckpointLocation::Local(path) => path.file_name().and_then(|name| name.to_str()),
            CheckpointLocation::S3(location) => location
                .key
                .rsplit('/')
                .next()
                .filter(|name| !name.is_empty()),
        }
    }

    /// The folder this file is in.
    pub fn parent(&self) -> Self {
        match self {
            CheckpointLocation::Local(path) => CheckpointLocation::Local(
                path.parent()
                    .filter(|parent| !parent.as_os_str().is_empty())
                    .unwrap_or(Path::new("."))
                    .to_path_buf(),
            ),
            CheckpointLocation::S3(location) => CheckpointLocation::S3(S3Location {
                bucket: location.bucket.clone(),
                key: location
                    .key
                    .rsplit_once('/')
                    .map_or(String::new(), |(parent, _)| parent.to_owned()),
            }),
        }
    }
}

impl fmt::Display for CheckpointLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CheckpointLocation::Local(path) => write!(f, "{}", path.display()),
            CheckpointLocation::S3(location) => write!(f, "{location}"),
        }
    }
}

impl fmt::Display for S3Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "s3://{}", self.bucket)?;
        if !self.key.is_empty() {
            write!(f, "/{}", self.key)?;
        }
        Ok(())
    }
}

/// `(scheme, rest)` when `value` starts with a URI scheme (`letters:`), as in `s3://b` or
/// `file:/x`. A bare path has none.
fn split_scheme(value: &str) -> Option<(&str, &str)> {
    let (scheme, rest) = value.split_once(':')?;
    let is_scheme = scheme.len() > 1
        && scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    is_scheme.then_some((scheme, rest))
}

/// S3's rules for bucket names, which S3-compatible stores share: 3 to 63 lowercase letters,
/// digits, dots and hyphens, beginning and ending with a letter or digit.
fn check_bucket_name(bucket: &str) -> Result<(), String> {
    if bucket.is_empty() {
        return Err("it names no bucket".to_owned());
    }
    let valid_characters = bucket
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '-');
    let valid_ends = bucket
        .chars()
        .next()
        .into_iter()
        .chain(bucket.chars().last())
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    if !(3..=63).contains(&bucket.len()) || !valid_characters || !valid_ends {
        return Err(format!(
            "'{bucket}' is not a bucket name (3 to 63 lowercase letters, digits, dots and \
             hyphens, beginning and ending with a letter or digit)"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "execution.checkpointing.dir";

    fn parse(value: &str) -> CheckpointLocation {
        CheckpointLocation::parse(KEY, value).unwrap()
    }

    fn s3(bucket: &str, key: &str) -> CheckpointLocation {
        CheckpointLocation::S3(S3Location {
            bucket: bucket.to_owned(),
            key: key.to_owned(),
        })
    }

    #[test]
    fn paths_and_file_uris_are_local_folders() {
        assert_eq!(
            parse("/tmp/checkpoints"),
            CheckpointLocation::local("/tmp/checkpoints")
        );
        assert_eq!(
            parse("checkpoints"),
            CheckpointLocation::local("checkpoints")
        );
        assert_eq!(
            parse("file:///tmp/ck"),
            CheckpointLocation::local("/tmp/ck")
        );
        assert_eq!(parse("file:/tmp/ck"), CheckpointLocation::local("/tmp/ck"));
        assert_eq!(
            parse("file://localhost/tmp/ck"),
            CheckpointLocation::local("/tmp/ck")
        );
        // A Windows-style drive letter is no scheme.
        assert_eq!(parse("C:/x"), CheckpointLocation::local("C:/x"));
    }

    #[test]
    fn s3_uris_name_a_bucket_and_a_prefix_printed_back_the_same() {
        assert_eq!(parse("s3://my-bucket"), s3("my-bucket", ""));
        assert_eq!(parse("s3://my-bucket/"), s3("my-bucket", ""));
        assert_eq!(parse("s3://my-bucket/a/b/"), s3("my-bucket", "a/b"));
        assert_eq!(parse("s3a://my-bucket//a//b"), s3("my-bucket", "a/b"));
        assert_eq!(
            parse("s3://my-bucket/ck/job/chk-3").to_string(),
            "s3://my-bucket/ck/job/chk-3"
        );
        assert_eq!(parse("s3://my-bucket").to_string(), "s3://my-bucket");
    }

    #[test]
    fn join_parent_and_file_name_walk_both_kinds_of_location() {
        let root = parse("s3://bucket.example/ck");
        let metadata = root.join("job").join("chk-1").join("_metadata");
        assert_eq!(
            metadata.to_string(),
            "s3://bucket.example/ck/job/chk-1/_metadata"
        );
        assert_eq!(metadata.file_name(), Some("_metadata"));
        assert_eq!(
            metadata.parent().to_string(),
            "s3://bucket.example/ck/job/chk-1"
        );
        assert_eq!(
            parse("s3://bkt").join("chk-1").to_string(),
            "s3://bkt/chk-1"
        );
        assert_eq!(parse("s3://bkt").file_name(), None);

        let local = parse("/tmp/ck").join("chk-2");
        assert_eq!(local, CheckpointLocation::local("/tmp/ck/chk-2"));
        assert_eq!(local.file_name(), Some("chk-2"));
        assert_eq!(
            CheckpointLocation::local("_metadata").parent().to_string(),
            "."
        );
    }

    #[test]
    fn malformed_uris_and_unknown_schemes_name_the_key_and_the_value() {
        let error = |value: &str| {
            CheckpointLocation::parse(KEY, value)
                .unwrap_err()
                .to_string()
        };
        assert_eq!(
            error("hdfs://namenode/ck"),
            "configuration key 'execution.checkpointing.dir': 'hdfs://namenode/ck' is not a \
             checkpoint location: the scheme 'hdfs' is not supported; use a local path, \
             file:///PATH or s3://BUCKET/PREFIX"
        );
        assert!(
            error("s3://").contains("'s3://' is not a checkpoint location: it names no bucket")
        );
        assert!(error("s3:bucket/x").contains("an S3 URI is written s3://BUCKET/PREFIX"));
        assert!(error("s3://My_Bucket/x").contains("'My_Bucket' is not a bucket name"));
        assert!(error("s3://-bucket").contains("'-bucket' is not a bucket name"));
        assert!(error("file://host/x").contains("needs an absolute path"));
        assert!(error("  ").contains("it is empty"));
    }
}
