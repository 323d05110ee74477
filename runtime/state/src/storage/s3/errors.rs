//! What a failed S3 request means to the person running the job, and what they can do.

use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};

/// Codes S3 and S3-compatible stores answer when they do not accept the credentials.
const CREDENTIAL_CODES: &[&str] = &[
    "InvalidAccessKeyId",
    "SignatureDoesNotMatch",
    "InvalidToken",
    "ExpiredToken",
    "TokenRefreshRequired",
    "AuthorizationHeaderMalformed",
];

const CHECK_CREDENTIALS: &str = "check s3.access-key and s3.secret-key (or AWS_ACCESS_KEY_ID and \
                                 AWS_SECRET_ACCESS_KEY when they are not set)";

/// A description of `error`, a request to `bucket`, that says what to do.
pub(super) fn describe<E>(error: &SdkError<E>, bucket: &str) -> String
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let detail = DisplayErrorContext(error).to_string();
    match error {
        SdkError::TimeoutError(_) => format!(
            "no answer in time ({detail}); check that the store is up and reachable at \
             s3.endpoint"
        ),
        SdkError::DispatchFailure(failure) if failure.is_timeout() => format!(
            "the endpoint did not answer in time ({detail}); check s3.endpoint and that the \
             store is up and reachable from here"
        ),
        SdkError::DispatchFailure(failure) if failure.is_io() => format!(
            "the endpoint cannot be reached ({detail}); check s3.endpoint and that the store is \
             up and reachable from here"
        ),
        SdkError::ServiceError(service) => {
            let status = service.raw().status().as_u16();
            let code = service.err().code().unwrap_or("no error code");
            // The code, and the store's own words when it gave some.
            let answer = match service.err().message().filter(|text| !text.is_empty()) {
                Some(message) => format!("{code}: {message}"),
                None => code.to_owned(),
            };
            if code == "NoSuchBucket" {
                format!(
                    "the bucket '{bucket}' does not exist (NoSuchBucket); create it, or name an \
                     existing bucket in the s3:// location"
                )
            } else if CREDENTIAL_CODES.contains(&code) {
                format!("the store refused the credentials ({answer}); {CHECK_CREDENTIALS}")
            } else if code == "AccessDenied" || status == 403 {
                format!(
                    "access denied ({answer}; HTTP {status}); the credentials are wrong \
                     or lack permission on bucket '{bucket}': {CHECK_CREDENTIALS}, and the \
                     bucket's policy"
                )
            } else {
                format!("the store answered {answer} (HTTP {status}); check the s3.* settings")
            }
        }
        _ if detail.contains("credentials") || detail.contains("identity") => {
            format!("no usable credentials ({detail}); {CHECK_CREDENTIALS}")
        }
        SdkError::ResponseError(_) => format!(
            "the answer could not be understood ({detail}); check that s3.endpoint is an S3 \
             endpoint"
        ),
        _ => format!("the request failed ({detail}); check the s3.* settings"),
    }
}

/// Whether `error` says the object does not exist (and not that its bucket does not).
pub(super) fn is_missing_object<E>(error: &SdkError<E>) -> bool
where
    E: ProvideErrorMetadata,
{
    match error {
        SdkError::ServiceError(service) => {
            service.err().code() == Some("NoSuchKey")
                || (service.raw().status().as_u16() == 404
                    && service.err().code() != Some("NoSuchBucket"))
        }
        _ => false,
    }
}

/// Whether `error` says a ranged read starts past the object's end (HTTP 416).
pub(super) fn is_invalid_range<E>(error: &SdkError<E>) -> bool
where
    E: ProvideErrorMetadata,
{
    match error {
        SdkError::ServiceError(service) => {
            service.err().code() == Some("InvalidRange") || service.raw().status().as_u16() == 416
        }
        _ => false,
    }
}

/// Whether `error` says the store does not implement the request (HTTP 501), as some
/// S3-compatible stores answer for the listing of multipart uploads.
pub(super) fn is_not_implemented<E>(error: &SdkError<E>) -> bool
where
    E: ProvideErrorMetadata,
{
    match error {
        SdkError::ServiceError(service) => {
            service.err().code() == Some("NotImplemented") || service.raw().status().as_u16() == 501
        }
        _ => false,
    }
}
