//! The S3 API as the runtime's S3 connector uses it, against two independent
//! servers. Where moto differs from S3, the test asserts what moto does.

use aws_sdk_s3::Client;
use aws_sdk_s3::error::ProvideErrorMetadata;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use flinkrs_testbed::S3Server;

/// S3's minimum size for every part but the last.
const PART_SIZE: usize = 5 * 1024 * 1024;

async fn put(client: &Client, bucket: &str, key: &str, body: &[u8]) -> anyhow::Result<()> {
    client
        .put_object()
        .bucket(bucket)
        .key(key)
        .body(ByteStream::from(body.to_vec()))
        .send()
        .await?;
    Ok(())
}

async fn get(client: &Client, bucket: &str, key: &str) -> anyhow::Result<Vec<u8>> {
    let object = client.get_object().bucket(bucket).key(key).send().await?;
    Ok(object.body.collect().await?.into_bytes().to_vec())
}

async fn put_then_get_returns_the_same_bytes(server: S3Server) -> anyhow::Result<()> {
    let client = server.client().await;
    let body = b"checkpoint 7: offsets 0..42";
    let put = client
        .put_object()
        .bucket(&server.bucket)
        .key("checkpoints/chk-7/_metadata")
        .body(ByteStream::from_static(body))
        .send()
        .await?;
    let object = client
        .get_object()
        .bucket(&server.bucket)
        .key("checkpoints/chk-7/_metadata")
        .send()
        .await?;
    assert_eq!(object.content_length(), Some(27));
    assert_eq!(object.e_tag(), put.e_tag());
    assert_eq!(object.body.collect().await?.into_bytes().as_ref(), body);
    Ok(())
}

async fn list_with_prefix_returns_only_matching_keys(server: S3Server) -> anyhow::Result<()> {
    let client = server.client().await;
    for key in ["chk-1/a", "chk-1/b", "chk-10/c", "chk-2/d", "savepoints/e"] {
        put(&client, &server.bucket, key, key.as_bytes()).await?;
    }
    let listed = client
        .list_objects_v2()
        .bucket(&server.bucket)
        .prefix("chk-1/")
        .send()
        .await?;
    let keys: Vec<&str> = listed.contents().iter().filter_map(|o| o.key()).collect();
    assert_eq!(keys, ["chk-1/a", "chk-1/b"]);
    assert_eq!(listed.key_count(), Some(2));

    let grouped = client
        .list_objects_v2()
        .bucket(&server.bucket)
        .prefix("chk-")
        .delimiter("/")
        .send()
        .await?;
    let prefixes: Vec<&str> = grouped
        .common_prefixes()
        .iter()
        .filter_map(|p| p.prefix())
        .collect();
    assert_eq!(prefixes, ["chk-1/", "chk-10/", "chk-2/"]);
    assert!(grouped.contents().is_empty());
    Ok(())
}

async fn multipart_upload_joins_parts_in_order(server: S3Server) -> anyhow::Result<()> {
    let client = server.client().await;
    let key = "state/large.sst";
    let first = vec![b'a'; PART_SIZE];
    let last = b"the last part".to_vec();
    let upload = client
        .create_multipart_upload()
        .bucket(&server.bucket)
        .key(key)
        .send()
        .await?;
    let upload_id = upload.upload_id().expect("an upload id");
    let mut completed = Vec::new();
    for (number, part) in [(1, &first), (2, &last)] {
        let uploaded = client
            .upload_part()
            .bucket(&server.bucket)
            .key(key)
            .upload_id(upload_id)
            .part_number(number)
            .body(ByteStream::from(part.clone()))
            .send()
            .await?;
        completed.push(
            CompletedPart::builder()
                .part_number(number)
                .set_e_tag(uploaded.e_tag().map(str::to_owned))
                .build(),
        );
    }
    client
        .complete_multipart_upload()
        .bucket(&server.bucket)
        .key(key)
        .upload_id(upload_id)
        .multipart_upload(
            CompletedMultipartUpload::builder()
                .set_parts(Some(completed))
                .build(),
        )
        .send()
        .await?;

    let body = get(&client, &server.bucket, key).await?;
    assert_eq!(body.len(), PART_SIZE + 13);
    assert!(body[..PART_SIZE].iter().all(|byte| *byte == b'a'));
    assert_eq!(&body[PART_SIZE..], b"the last part");
    Ok(())
}

async fn put_if_none_match_refuses_to_overwrite(server: S3Server) -> anyhow::Result<()> {
    let client = server.client().await;
    let conditional_put = |body: &'static [u8]| {
        client
            .put_object()
            .bucket(&server.bucket)
            .key("checkpoints/chk-8/_metadata")
            .if_none_match("*")
            .body(ByteStream::from_static(body))
            .send()
    };
    conditional_put(b"first writer").await?;
    let error = conditional_put(b"second writer")
        .await
        .expect_err("a second If-None-Match: * put must fail");
    let status = error
        .raw_response()
        .map(|response| response.status().as_u16());
    assert_eq!(status, Some(412));
    assert_eq!(error.code(), Some("PreconditionFailed"));
    let stored = get(&client, &server.bucket, "checkpoints/chk-8/_metadata").await?;
    assert_eq!(stored, b"first writer");
    Ok(())
}

async fn a_wrong_secret_is_rejected(server: S3Server) -> anyhow::Result<()> {
    let intruder = server
        .client_with_credentials(&server.access_key, "not-the-secret")
        .await;
    let outcome = intruder
        .put_object()
        .bucket(&server.bucket)
        .key("intruder")
        .body(ByteStream::from_static(b"x"))
        .send()
        .await;
    match server.implementation {
        "moto" => {
            // moto checks signatures only for keys created through its IAM
            // API; with plain server mode it accepts any secret.
            outcome.expect("moto accepts a wrong secret");
            let stored = get(&server.client().await, &server.bucket, "intruder").await?;
            assert_eq!(stored, b"x");
        }
        _ => {
            let error = outcome.expect_err("a wrong secret must be refused");
            let status = error
                .raw_response()
                .map(|response| response.status().as_u16());
            assert_eq!(status, Some(403));
            assert_eq!(error.code(), Some("SignatureDoesNotMatch"));
            let listed = server
                .client()
                .await
                .list_objects_v2()
                .bucket(&server.bucket)
                .send()
                .await?;
            assert_eq!(listed.key_count(), Some(0));
        }
    }
    Ok(())
}

/// The same five stories against each implementation.
macro_rules! s3_stories {
    ($implementation:ident, $start:path) => {
        mod $implementation {
            use super::*;

            macro_rules! story {
                ($name:ident) => {
                    #[tokio::test]
                    async fn $name() -> anyhow::Result<()> {
                        let test = concat!(stringify!($implementation), "::", stringify!($name));
                        let Some(server) = $start(test).await else {
                            return Ok(());
                        };
                        super::$name(server).await
                    }
                };
            }

            story!(put_then_get_returns_the_same_bytes);
            story!(list_with_prefix_returns_only_matching_keys);
            story!(multipart_upload_joins_parts_in_order);
            story!(put_if_none_match_refuses_to_overwrite);
            story!(a_wrong_secret_is_rejected);
        }
    };
}

s3_stories!(s3s_fs, S3Server::start_s3s_fs);
s3_stories!(moto, S3Server::start_moto);

/// An outage and its end: while s3s-fs is stopped, requests are refused; started again on the
/// same port and data folder, it serves the objects it had, and takes new ones.
#[tokio::test]
async fn a_stopped_s3s_fs_refuses_requests_and_after_a_restart_serves_its_objects()
-> anyhow::Result<()> {
    let test = "s3s_fs::a_stopped_s3s_fs_refuses_requests_and_after_a_restart_serves_its_objects";
    let Some(mut server) = S3Server::start_s3s_fs(test).await else {
        return Ok(());
    };
    let client = server.client().await;
    put(
        &client,
        &server.bucket,
        "chk-1/_metadata",
        b"before the outage",
    )
    .await?;
    let pids_before = server.pids();

    server.stop();
    assert!(server.pids().is_empty(), "no server process is left");
    let refused = get(&client, &server.bucket, "chk-1/_metadata")
        .await
        .expect_err("a stopped server answers nothing");
    assert!(
        format!("{refused:?}").contains("Connection refused"),
        "nothing listens on the port: {refused:?}"
    );

    server.restart().await?;
    assert_ne!(server.pids(), pids_before, "a new process serves");
    assert_eq!(
        get(&client, &server.bucket, "chk-1/_metadata").await?,
        b"before the outage"
    );
    put(
        &client,
        &server.bucket,
        "chk-2/_metadata",
        b"after the outage",
    )
    .await?;
    assert_eq!(
        get(&client, &server.bucket, "chk-2/_metadata").await?,
        b"after the outage"
    );
    Ok(())
}
