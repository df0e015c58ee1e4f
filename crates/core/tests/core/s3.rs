//! The S3 provider against a real S3 server implementation (s3s-fs) started on loopback:
//! SigV4, streamed PutObject with explicit length, presigned links that work and expire.

use ferry_core::transfer::Progress;
use ferry_core::{Code, Kind};
pub use ferry_fakes::s3s::{S3Server, ACCESS_KEY, SECRET_KEY};
use ferry_fakes::OriginOpts;

use crate::support::{png, TestEngine};

pub fn account(server: &S3Server, extra: &[(&str, String)], secret: &str) -> TestEngine {
    account_at(&server.endpoint, extra, secret)
}

/// An S3 account at `endpoint` (the server itself, or a proxy in front of it).
pub fn account_at(endpoint: &str, extra: &[(&str, String)], secret: &str) -> TestEngine {
    let mut opts = vec![
        ("bucket", "media".to_string()),
        ("endpoint", endpoint.to_string()),
        ("path_style", "true".to_string()),
        ("access_key_id", ACCESS_KEY.to_string()),
        ("prefix", "ferry/".to_string()),
    ];
    opts.extend(extra.iter().cloned());
    TestEngine::with_account(Kind::S3, &opts, Some(secret))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_upload_streams_the_file_and_the_presigned_link_serves_it() {
    let server = S3Server::start("media");
    let t = account(&server, &[("link_expiry", "1h".into())], SECRET_KEY);
    let bytes = png(3_000_000);
    let path = t.file("café photo.png", &bytes);
    let media = t.upload(&path).await.unwrap();
    let m = &media[0];
    assert!(
        m.id.starts_with("ferry/") && m.id.ends_with("café photo.png"),
        "{}",
        m.id
    );
    assert_eq!(
        std::fs::read(server.object_path("media", &m.id)).unwrap(),
        bytes
    );
    // The presigned link is a working, expiring GET.
    let url = m.url.clone().unwrap();
    assert!(url.contains("X-Amz-Expires=3600"), "{url}");
    let got = reqwest::get(&url).await.unwrap();
    assert_eq!(got.status(), 200);
    assert_eq!(got.bytes().await.unwrap().to_vec(), bytes);
    let exp = m.expires_at.unwrap();
    let left = exp - chrono::Utc::now();
    assert!(left <= chrono::Duration::hours(1) && left > chrono::Duration::minutes(59));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_public_base_url_gives_plain_links_and_remote_list_and_delete_work() {
    let server = S3Server::start("media");
    let t = account(
        &server,
        &[("public_base_url", "https://cdn.example.test/m".into())],
        SECRET_KEY,
    );
    let path = t.file("a b.png", &png(1000));
    let media = t.upload(&path).await.unwrap();
    let url = media[0].url.clone().unwrap();
    assert!(
        url.starts_with("https://cdn.example.test/m/ferry/") && url.ends_with("/a%20b.png"),
        "{url}"
    );
    assert!(media[0].expires_at.is_none());
    let remote = t.engine.list_remote("dest").await.unwrap();
    assert_eq!(remote.len(), 1);
    assert_eq!(remote[0].id, media[0].id);
    assert_eq!(remote[0].size, Some(1016));
    t.engine.account_test("dest").await.unwrap();
    let p = t.engine.provider("dest").unwrap();
    p.delete(&media[0].id, &t.engine.ctx(Progress::none()))
        .await
        .unwrap();
    assert!(t.engine.list_remote("dest").await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_wrong_secret_is_auth_invalid_and_nothing_is_stored() {
    let server = S3Server::start("media");
    let t = account(&server, &[], "not-the-secret");
    let path = t.file("x.png", &png(1000));
    let e = t.upload(&path).await.unwrap_err();
    assert_eq!(e.code, Code::AuthInvalid, "{}", e.message);
    assert!(!e.message.contains("not-the-secret"));
    assert!(crate::support::files_under(&server.root.join("media")).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_zero_byte_file_uploads() {
    let server = S3Server::start("media");
    let t = account(&server, &[], SECRET_KEY);
    let path = t.file("empty.bin", b"");
    let media = t.upload(&path).await.unwrap();
    assert_eq!(
        std::fs::read(server.object_path("media", &media[0].id))
            .unwrap()
            .len(),
        0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_missing_bucket_is_a_configuration_error() {
    let server = S3Server::start("media");
    let t = account(&server, &[("bucket", "nope".into())], SECRET_KEY);
    let e = t.engine.account_test("dest").await.unwrap_err();
    assert!(
        matches!(e.code, Code::ConfigInvalid | Code::ProviderNotFound),
        "{:?} {}",
        e.code,
        e.message
    );
}

/// 100 MiB that sniff as a PNG, different in every part (a misplaced range shows).
fn big_source() -> Vec<u8> {
    png(100 * 1024 * 1024 - 16)
}

async fn import_to_s3(opts: OriginOpts) -> (Vec<u8>, Vec<u8>, Vec<ferry_fakes::Recorded>) {
    let server = S3Server::start("media");
    let origin = ferry_fakes::origin::start().await;
    let bytes = big_source();
    origin.serve_with("/big/movie.png", bytes.clone(), opts);
    let t = account(&server, &[], SECRET_KEY);
    let media = t.import(&origin.url("/big/movie.png")).await.unwrap();
    let stored = std::fs::read(server.object_path("media", &media[0].id)).unwrap();
    (bytes, stored, origin.requests())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_100_mib_url_import_to_s3_from_an_origin_that_honours_range_arrives_intact() {
    // The first download breaks off a third of the way: the rest comes through bounded
    // ranges, each checked against its 206 and Content-Range.
    let (bytes, stored, requests) = import_to_s3(OriginOpts {
        content_type: "image/png".into(),
        ranges: true,
        cut_once_after: Some(33 * 1024 * 1024),
        ..OriginOpts::default()
    })
    .await;
    assert_eq!(stored.len(), bytes.len());
    assert!(blake3::hash(&stored) == blake3::hash(&bytes), "same bytes");
    let ranges: Vec<&str> = requests.iter().filter_map(|r| r.header("range")).collect();
    assert!(!ranges.is_empty(), "the rest came by Range");
    for r in ranges {
        let (a, b) = r
            .strip_prefix("bytes=")
            .and_then(|s| s.split_once('-'))
            .unwrap_or_else(|| panic!("bounded range: {r}"));
        assert!(
            a.parse::<u64>().is_ok() && b.parse::<u64>().is_ok(),
            "bounded range: {r}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_100_mib_url_import_to_s3_from_an_origin_that_ignores_range_arrives_intact() {
    // It breaks off too: the whole body comes again and is skipped up to where it broke.
    let (bytes, stored, requests) = import_to_s3(OriginOpts {
        content_type: "image/png".into(),
        ranges: false,
        cut_once_after: Some(45 * 1024 * 1024),
        ..OriginOpts::default()
    })
    .await;
    assert_eq!(stored.len(), bytes.len());
    assert!(blake3::hash(&stored) == blake3::hash(&bytes), "same bytes");
    assert_eq!(requests.len(), 2, "fetched again once, after the break");
}

/// A provider call on the S3 account of `t`, with quick retries.
fn s3_ctx(t: &TestEngine) -> ferry_core::transfer::Ctx {
    let mut ctx = t.engine.ctx(Progress::none());
    ctx.retry.base = std::time::Duration::from_millis(5);
    ctx
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_multipart_upload_holds_no_more_of_the_file_than_the_read_budget() {
    use ferry_core::transfer::{Source, READ_BUDGET};
    // 65 parts of 8 MiB, so eight are in flight at once; sparse, so it costs no disk here.
    let server = S3Server::start("media");
    let t = account(&server, &[], SECRET_KEY);
    let path = t.file("big.png", &png(1024));
    let size = 512 * 1024 * 1024 + 1024 * 1024;
    std::fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .unwrap()
        .set_len(size)
        .unwrap();
    let meta = std::fs::metadata(&path).unwrap();
    let upload = ferry_core::providers::Upload {
        api_name: "big.png".into(),
        name: "big.png".into(),
        mime: "image/png".into(),
        size,
        source: Source::file(path, &meta),
        naming: Default::default(),
    };
    let provider = t.engine.provider("dest").unwrap();
    let media = provider.upload(&upload, &s3_ctx(&t)).await.unwrap();
    let stored = std::fs::metadata(server.object_path("media", &media[0].id)).unwrap();
    assert_eq!(stored.len(), size);
    let held = upload.source.held();
    // Counted, not measured: every byte read from the file is held in one of the
    // source's buffers until the HTTP stack lets go of it.
    assert!(held.peak() > 0, "the reads were counted");
    assert!(
        held.peak() <= READ_BUDGET,
        "at most {READ_BUDGET} bytes of the file in memory at once, held {}",
        held.peak()
    );
    assert_eq!(held.now(), 0, "every buffer came back");
    // The parts' reads hashed the file (no second pass over it after the upload).
    let stop = tokio_util::sync::CancellationToken::new();
    let path = upload.source.path().unwrap();
    assert_eq!(
        upload.source.tapped_hash(),
        Some(ferry_core::transfer::hash_file(path, &stop).await.unwrap())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_url_import_to_s3_streams_its_parts_without_gathering_them() {
    use ferry_core::transfer::READ_BUDGET;
    // 200 MiB generated by the origin (nothing held by the test either): 25 parts.
    let server = S3Server::start("media");
    let origin = ferry_fakes::origin::start().await;
    let t = account(&server, &[], SECRET_KEY);
    let size: u64 = 200 * 1024 * 1024;
    let url = url::Url::parse(&origin.url(&format!("/bytes/{size}.mp4"))).unwrap();
    let http = ferry_core::transfer::http_client();
    let (upload, spill) = ferry_core::import::fetch(&http, &url, t.dir.path(), None)
        .await
        .unwrap();
    assert!(spill.is_none(), "a download with a length is not spilled");
    let provider = t.engine.provider("dest").unwrap();
    let media = provider.upload(&upload, &s3_ctx(&t)).await.unwrap();
    let stored = std::fs::read(server.object_path("media", &media[0].id)).unwrap();
    let again = http.get(url).send().await.unwrap().bytes().await.unwrap();
    assert_eq!(stored.len() as u64, size);
    assert!(blake3::hash(&stored) == blake3::hash(&again), "same bytes");
    let held = upload.source.held();
    assert!(held.peak() > 0, "the download's chunks were counted");
    // The parts' 8 MiB are never gathered: only the chunks on their way through.
    assert!(
        held.peak() <= READ_BUDGET,
        "at most {READ_BUDGET} bytes of the download in memory at once, held {}",
        held.peak()
    );
    assert_eq!(held.now(), 0);
}
