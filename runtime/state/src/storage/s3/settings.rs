//! How to reach S3, from Flink's `s3.*` keys.

use std::fmt;

use flinkrs_core::Configuration;
use flinkrs_core::config::{
    S3_ACCESS_KEY, S3_ENDPOINT, S3_PATH_STYLE_ACCESS, S3_REGION, S3_SECRET_KEY,
};

/// The endpoint, region, addressing style and credentials of S3 requests. The default is
/// AWS itself, with the region and credentials of the AWS environment.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct S3Settings {
    /// `s3.endpoint` as a URL: `https://` is put before a bare host, as Flink does.
    pub endpoint: Option<String>,
    /// `s3.region`. Unset, it comes from `AWS_REGION` (and, without an endpoint, from the AWS
    /// profile and instance metadata), else `us-east-1`.
    pub region: Option<String>,
    /// `s3.path-style-access`: `http://host/bucket/key` rather than `http://bucket.host/key`.
    /// Unset, it is on when an endpoint is set (MinIO and most S3-compatible stores need it),
    /// as Flink's native S3 filesystem does.
    pub path_style_access: bool,
    /// `s3.access-key` and `s3.secret-key`. Unset, the AWS credential chain is asked:
    /// `AWS_ACCESS_KEY_ID` and `AWS_SECRET_ACCESS_KEY`, the profile files, web identity
    /// (Kubernetes service accounts), the container and instance metadata.
    pub credentials: Option<StaticCredentials>,
}

/// An access key pair given in the configuration.
#[derive(Clone, PartialEq, Eq)]
pub struct StaticCredentials {
    pub access_key: String,
    pub secret_key: String,
}

impl S3Settings {
    /// Reads the `s3.*` keys, checking what the registry cannot: that the endpoint is a URL
    /// and that the access key and secret key come together.
    pub fn from_config(config: &Configuration) -> flinkrs_core::Result<Self> {
        let text = |key: &str| {
            config
                .get(key)
                .map(str::trim)
                .filter(|value| !value.is_empty())
        };
        let endpoint = text(S3_ENDPOINT).map(endpoint_url).transpose()?;
        let path_style_access = match config.get(S3_PATH_STYLE_ACCESS) {
            Some(value) => value == "true",
            None => endpoint.is_some(),
        };
        let credentials = match (text(S3_ACCESS_KEY), text(S3_SECRET_KEY)) {
            (Some(access_key), Some(secret_key)) => Some(StaticCredentials {
                access_key: access_key.to_owned(),
                secret_key: secret_key.to_owned(),
            }),
            (None, None) => None,
            (Some(_), None) => return Err(half_a_key_pair(S3_SECRET_KEY, S3_ACCESS_KEY)),
            (None, Some(_)) => return Err(half_a_key_pair(S3_ACCESS_KEY, S3_SECRET_KEY)),
        };
        Ok(S3Settings {
            endpoint,
            region: text(S3_REGION).map(str::to_owned),
            path_style_access,
            credentials,
        })
    }

    /// The settings with an access key pair, as `s3.access-key` and `s3.secret-key` set it.
    pub fn with_credentials(
        mut self,
        access_key: impl Into<String>,
        secret_key: impl Into<String>,
    ) -> Self {
        self.credentials = Some(StaticCredentials {
            access_key: access_key.into(),
            secret_key: secret_key.into(),
        });
        self
    }
}

/// Never prints the secret key.
impl fmt::Debug for S3Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("S3Settings")
            .field("endpoint", &self.endpoint)
            .field("region", &self.region)
            .field("path_style_access", &self.path_style_access)
            .field(
                "access_key",
                &self.credentials.as_ref().map(|c| c.access_key.as_str()),
            )
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for StaticCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StaticCredentials")
            .field("access_key", &self.access_key)
            .finish_non_exhaustive()
    }
}

fn half_a_key_pair(missing: &str, set: &str) -> flinkrs_core::Error {
    flinkrs_core::Error::config(
        missing,
        format!(
            "not set, but {set} is; set both, or neither to take the credentials from \
             AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY or the AWS credential chain"
        ),
    )
}

/// `value` as an endpoint URL: `http://` or `https://`, a host, an optional port and path.
fn endpoint_url(value: &str) -> flinkrs_core::Result<String> {
    let invalid = |why: &str| {
        flinkrs_core::Error::config(
            S3_ENDPOINT,
            format!(
                "'{value}' is not an endpoint: {why}; write e.g. http://127.0.0.1:9000 or \
                 https://s3.eu-west-1.amazonaws.com"
            ),
        )
    };
    let url = match value.split_once("://") {
        Some((scheme, _)) if !matches!(scheme.to_ascii_lowercase().as_str(), "http" | "https") => {
            return Err(invalid(&format!(
                "the scheme '{scheme}' is not http or https"
            )));
        }
        Some(_) => value.to_owned(),
        None => format!("https://{value}"),
    };
    let authority = url
        .split_once("://")
        .map_or("", |(_, rest)| rest.split('/').next().unwrap_or(""));
    // An IPv6 host is bracketed: [::1]:9000.
    let (host, port) = match authority.split_once(']') {
        Some((host, rest)) => (host, rest.strip_prefix(':')),
        None => match authority.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        },
    };
    if host.is_empty() || url.chars().any(char::is_whitespace) {
        return Err(invalid("it names no host"));
    }
    if let Some(port) = port
        && port.parse::<u16>().is_err()
    {
        return Err(invalid(&format!("'{port}' is not a port")));
    }
    Ok(url.trim_end_matches('/').to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(entries: &[(&str, &str)]) -> flinkrs_core::Result<S3Settings> {
        let mut config = Configuration::new();
        for (key, value) in entries {
            config.set(key, *value).unwrap();
        }
        S3Settings::from_config(&config)
    }

    #[test]
    fn without_keys_it_is_aws_with_the_credential_chain() {
        assert_eq!(settings(&[]).unwrap(), S3Settings::default());
    }

    #[test]
    fn an_endpoint_turns_path_style_on_unless_it_is_set() {
        let minio = settings(&[
            ("s3.endpoint", "http://127.0.0.1:9000/"),
            ("s3.access-key", "minio"),
            ("s3.secret-key", "minio-secret"),
        ])
        .unwrap();
        assert_eq!(minio.endpoint.as_deref(), Some("http://127.0.0.1:9000"));
        assert!(minio.path_style_access);
        assert_eq!(
            minio.credentials,
            Some(StaticCredentials {
                access_key: "minio".into(),
                secret_key: "minio-secret".into()
            })
        );
        let virtual_hosts = settings(&[
            ("s3.endpoint", "storage.example.com"),
            ("s3.path.style.access", "false"),
            ("s3.region", "eu-west-1"),
        ])
        .unwrap();
        assert_eq!(
            virtual_hosts.endpoint.as_deref(),
            Some("https://storage.example.com")
        );
        assert!(!virtual_hosts.path_style_access);
        assert_eq!(virtual_hosts.region.as_deref(), Some("eu-west-1"));
    }

    #[test]
    fn the_secret_key_is_never_printed() {
        let settings = settings(&[("s3.access-key", "AK"), ("s3.secret-key", "hush")]).unwrap();
        let printed = format!("{settings:?} {:?}", settings.credentials);
        assert!(printed.contains("AK"), "{printed}");
        assert!(!printed.contains("hush"), "{printed}");
    }

    #[test]
    fn bad_endpoints_and_half_key_pairs_name_the_key() {
        let error = |entries: &[(&str, &str)]| settings(entries).unwrap_err().to_string();
        assert_eq!(
            error(&[("s3.endpoint", "ftp://files.example.com")]),
            "configuration key 's3.endpoint': 'ftp://files.example.com' is not an endpoint: the \
             scheme 'ftp' is not http or https; write e.g. http://127.0.0.1:9000 or \
             https://s3.eu-west-1.amazonaws.com"
        );
        assert!(
            error(&[("s3.endpoint", "http://:9000")]).contains("it names no host"),
            "a port without a host"
        );
        assert!(
            error(&[("s3.endpoint", "http://localhost:nine")]).contains("'nine' is not a port")
        );
        assert_eq!(
            error(&[("s3.access-key", "AK")]),
            "configuration key 's3.secret-key': not set, but s3.access-key is; set both, or \
             neither to take the credentials from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY or \
             the AWS credential chain"
        );
        assert!(error(&[("s3.secret.key", "SK")]).starts_with("configuration key 's3.access-key'"));
    }
}
