//! Multipart uploads: how an exactly-once sink writes an S3 object that nobody sees until it
//! commits, as Flink's S3 recoverable writer does.
//!
//! An upload is started for the object's final key, its parts are uploaded as the data
//! comes, and the object appears, whole and at once, when the upload is completed. Until
//! then nothing is listed or readable under the key; an upload that is aborted (or never
//! completed) leaves no object.

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};

use super::S3Store;
use super::errors::{describe, is_missing_object, is_not_implemented};
use crate::error::Result;
use crate::storage::S3Location;

/// The smallest part S3 accepts, but for the last one of an upload.
pub const MIN_PART_BYTES: usize = 5 * 1024 * 1024;

/// A part of a multipart upload, uploaded: its number (from 1) and the ETag the store gave it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UploadedPart {
    pub number: i32,
    pub e_tag: String,
}

/// A multipart upload nobody completed or aborted yet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpenUpload {
    pub key: String,
    pub upload_id: String,
}

impl S3Store {
    /// Checks that the bucket of `location` exists and that the credentials reach it.
    pub fn check_bucket(&self, location: &S3Location) -> Result<()> {
        let (client, bucket) = (self.client.clone(), location.bucket.clone());
        self.run("cannot reach the bucket of", location, async move {
            match client.head_bucket().bucket(&bucket).send().await {
                Ok(_) => Ok(()),
                // A HEAD answer has no body, so no error code: 404 is the bucket.
                Err(error) if is_missing_object(&error) => Err(format!(
                    "the bucket '{bucket}' does not exist (NoSuchBucket); create it, or name \
                     an existing bucket in the s3:// location"
                )),
                Err(error) => Err(describe(&error, &bucket)),
            }
        })
    }

    /// Starts a multipart upload of the object at `location`; returns its upload id.
    pub fn start_upload(&self, location: &S3Location) -> Result<String> {
        let (client, bucket, key) = self.parts_of(location);
        self.run("cannot start the upload of", location, async move {
            let started = client
                .create_multipart_upload()
                .bucket(&bucket)
                .key(key)
                .send()
                .await
                .map_err(|error| describe(&error, &bucket))?;
            started
                .upload_id()
                .map(str::to_owned)
                .ok_or_else(|| "the store gave no upload id".to_owned())
        })
    }

    /// Uploads part `number` (from 1) of an upload; returns the part's ETag.
    pub fn upload_part(
        &self,
        location: &S3Location,
        upload_id: &str,
        number: i32,
        bytes: Vec<u8>,
    ) -> Result<UploadedPart> {
        let (client, bucket, key) = self.parts_of(location);
        let upload_id = upload_id.to_owned();
        self.run("cannot upload a part of", location, async move {
            let uploaded = client
                .upload_part()
                .bucket(&bucket)
                .key(key)
                .upload_id(upload_id)
                .part_number(number)
                .body(ByteStream::from(bytes))
                .send()
                .await
                .map_err(|error| describe(&error, &bucket))?;
            let e_tag = uploaded
                .e_tag()
                .ok_or_else(|| format!("the store gave part {number} no ETag"))?;
            Ok(UploadedPart {
                number,
                e_tag: e_tag.to_owned(),
            })
        })
    }

    /// Completes an upload: the object appears at `location`, made of `parts` in order.
    pub fn complete_upload(
        &self,
        location: &S3Location,
        upload_id: &str,
        parts: &[UploadedPart],
    ) -> Result<()> {
        let (client, bucket, key) = self.parts_of(location);
        let upload_id = upload_id.to_owned();
        let completed = CompletedMultipartUpload::builder()
            .set_parts(Some(
                parts
                    .iter()
                    .map(|part| {
                        CompletedPart::builder()
                            .part_number(part.number)
                            .e_tag(&part.e_tag)
                            .build()
                    })
                    .collect(),
            ))
            .build();
        self.run("cannot complete the upload of", location, async move {
            client
                .complete_multipart_upload()
                .bucket(&bucket)
                .key(key)
                .upload_id(upload_id)
                .multipart_upload(completed)
                .send()
                .await
                .map(|_| ())
                .map_err(|error| describe(&error, &bucket))
        })
    }

    /// Aborts an upload: its parts are dropped and no object appears.
    pub fn abort_upload(&self, location: &S3Location, upload_id: &str) -> Result<()> {
        let (client, bucket, key) = self.parts_of(location);
        let upload_id = upload_id.to_owned();
        self.run("cannot abort the upload of", location, async move {
            client
                .abort_multipart_upload()
                .bucket(&bucket)
                .key(key)
                .upload_id(upload_id)
                .send()
                .await
                .map(|_| ())
                .map_err(|error| describe(&error, &bucket))
        })
    }

    /// Whether an object exists at `location` (a HEAD request).
    pub fn object_exists(&self, location: &S3Location) -> Result<bool> {
        let (client, bucket, key) = self.parts_of(location);
        self.run("cannot look up", location, async move {
            match client.head_object().bucket(&bucket).key(key).send().await {
                Ok(_) => Ok(true),
                Err(error) if is_missing_object(&error) => Ok(false),
                Err(error) => Err(describe(&error, &bucket)),
            }
        })
    }

    /// The uploads under the folder `location` that nobody completed or aborted; `None` when
    /// the store does not list uploads (some S3-compatible stores do not).
    pub fn open_uploads(&self, location: &S3Location) -> Result<Option<Vec<OpenUpload>>> {
        let (client, bucket, prefix) = (
            self.client.clone(),
            location.bucket.clone(),
            location.folder_prefix(),
        );
        self.run("cannot list the uploads under", location, async move {
            let mut uploads = Vec::new();
            let (mut key_marker, mut upload_marker) = (None::<String>, None::<String>);
            loop {
                let page = match client
                    .list_multipart_uploads()
                    .bucket(&bucket)
                    .prefix(&prefix)
                    .set_key_marker(key_marker.take())
                    .set_upload_id_marker(upload_marker.take())
                    .send()
                    .await
                {
                    Ok(page) => page,
                    Err(error) if is_not_implemented(&error) => return Ok(None),
                    Err(error) => return Err(describe(&error, &bucket)),
                };
                uploads.extend(page.uploads().iter().filter_map(|upload| {
                    Some(OpenUpload {
                        key: upload.key()?.to_owned(),
                        upload_id: upload.upload_id()?.to_owned(),
                    })
                }));
                if page.is_truncated() != Some(true) {
                    return Ok(Some(uploads));
                }
                key_marker = page.next_key_marker().map(str::to_owned);
                upload_marker = page.next_upload_id_marker().map(str::to_owned);
                if key_marker.is_none() && upload_marker.is_none() {
                    return Ok(Some(uploads));
                }
            }
        })
    }

    fn parts_of(&self, location: &S3Location) -> (aws_sdk_s3::Client, String, String) {
        (
            self.client.clone(),
            location.bucket.clone(),
            location.key.clone(),
        )
    }
}
