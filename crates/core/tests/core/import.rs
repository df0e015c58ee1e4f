//! URL imports: fetch-and-forward for destinations without an import API (streamed when
//! the length is known, spilled when not), the import APIs of PostSyncer and FastPix, and
//! the URLs and pages that are refused.

use ferry_core::transfer::Progress;
use ferry_core::{Code, Kind, MediaStatus};
use ferry_fakes::{Fakes, Options, OriginOpts};

use crate::support::{mp4, png, TestEngine};

fn synposter(f: &Fakes) -> TestEngine {
    TestEngine::with_account(
        Kind::Synposter,
        &[("api_url", f.synposter.api_url())],
        Some(ferry_fakes::SYNPOSTER_KEY),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_url_with_a_length_is_streamed_into_the_upload() {
    let f = Fakes::start(Options::default()).await;
    let bytes = png(800_000);
    f.origin
        .serve("/pics/sunset.png", bytes.clone(), "image/png");
    let t = synposter(&f);
    let media = t.import(&f.origin.url("/pics/sunset.png")).await.unwrap();
    assert_eq!(media[0].name, "sunset.png");
    assert_eq!(f.synposter.objects()[0].bytes, bytes);
    assert_eq!(
        f.origin.requests().len(),
        1,
        "downloaded once, not once to sniff and again to send"
    );
    let spool = t.dir.path().join("home/spool");
    assert!(
        crate::support::files_under(&spool).is_empty(),
        "nothing spilled to disk"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_url_without_a_length_is_spilled_then_sent_and_named_from_disposition_after_redirects() {
    let f = Fakes::start(Options::default()).await;
    let bytes = png(300_000);
    f.origin.serve_with(
        "/dl/123",
        bytes.clone(),
        OriginOpts {
            content_type: "application/octet-stream".into(),
            content_length: false,
            content_disposition: Some("attachment; filename*=UTF-8''caf%C3%A9.png".into()),
            redirect_to: None,
            ..OriginOpts::default()
        },
    );
    f.origin.serve_with(
        "/share/abc",
        vec![],
        OriginOpts {
            content_type: "text/plain".into(),
            content_length: true,
            content_disposition: None,
            redirect_to: Some("/dl/123".into()),
            ..OriginOpts::default()
        },
    );
    let t = synposter(&f);
    let media = t.import(&f.origin.url("/share/abc")).await.unwrap();
    assert_eq!(media[0].name, "café.png");
    assert_eq!(
        media[0].mime_type, "image/png",
        "type from the bytes, not the header"
    );
    assert_eq!(f.synposter.objects()[0].bytes, bytes);
    let spool = t.dir.path().join("home/spool");
    assert!(
        crate::support::files_under(&spool).is_empty(),
        "the spill file is removed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_html_page_is_refused_with_a_message_that_says_so() {
    let f = Fakes::start(Options::default()).await;
    f.origin.serve(
        "/photo/page",
        b"<!DOCTYPE html><html><body>a photo</body></html>".to_vec(),
        "text/html",
    );
    let t = synposter(&f);
    let e = t.import(&f.origin.url("/photo/page")).await.unwrap_err();
    assert_eq!(e.code, Code::InputHtmlPage);
    assert!(e.message.contains("web page"), "{}", e.message);
    assert!(
        f.synposter.requests().is_empty(),
        "nothing sent to the destination"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_urls_are_refused_without_any_request() {
    let f = Fakes::start(Options::default()).await;
    let t = synposter(&f);
    let long = format!("https://example.com/{}", "a".repeat(2100));
    for bad in [
        "file:///etc/passwd",
        "javascript:alert(1)",
        "data:image/png;base64,iVBO",
        "ftp://example.com/a.png",
        "not a url",
        long.as_str(),
    ] {
        let e = t.import(bad).await.unwrap_err();
        assert_eq!(e.code, Code::InputInvalidUrl, "{bad}");
    }
    assert!(f.synposter.requests().is_empty());
    assert!(f.origin.requests().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_url_fails_clearly() {
    let f = Fakes::start(Options::default()).await;
    let t = synposter(&f);
    let e = t.import(&f.origin.url("/nope.png")).await.unwrap_err();
    assert_eq!(e.code, Code::InputNotFound);
    assert!(e.message.contains("404"), "{}", e.message);
}

fn postsyncer(f: &Fakes) -> TestEngine {
    TestEngine::with_account(
        Kind::Postsyncer,
        &[
            ("api_url", f.postsyncer.api_url()),
            ("upload_url", f.postsyncer.upload_url().unwrap()),
            (
                "workspace_id",
                ferry_fakes::POSTSYNCER_WORKSPACE_ID.to_string(),
            ),
        ],
        Some(ferry_fakes::POSTSYNCER_TOKEN),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postsyncer_imports_through_its_api_and_reports_nothing_stored_as_a_failure() {
    let f = Fakes::start(Options::default()).await;
    f.origin.serve("/a.png", png(2000), "image/png");
    f.origin
        .serve("/page", b"<html>hi</html>".to_vec(), "text/html");
    let t = postsyncer(&f);
    let media = t.import(&f.origin.url("/a.png")).await.unwrap();
    assert_eq!(media.len(), 1);
    assert!(f
        .postsyncer
        .requests()
        .iter()
        .any(|r| r.path.ends_with("/media/upload/url")));
    let e = t.import(&f.origin.url("/page")).await.unwrap_err();
    assert_eq!(e.code, Code::ProviderRejected);
    assert!(e.message.contains("stored nothing"), "{}", e.message);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postsyncer_import_422_is_reported_with_its_reason() {
    let f = Fakes::start(Options {
        postsyncer_import_all_or_nothing: true,
        ..Options::default()
    })
    .await;
    f.origin
        .serve("/page", b"<html>hi</html>".to_vec(), "text/html");
    let t = postsyncer(&f);
    let e = t.import(&f.origin.url("/page")).await.unwrap_err();
    assert!(
        e.message.starts_with("PostSyncer answered 422"),
        "{}",
        e.message
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postsyncer_lost_upload_answer_does_not_create_a_duplicate() {
    let f = Fakes::start(Options::default()).await;
    f.postsyncer.push_fault(ferry_fakes::Fault::new(
        "/media/upload/file",
        ferry_fakes::FaultKind::DropResponse,
    ));
    let t = postsyncer(&f);
    let path = t.file("once.png", &png(4000));
    let media = t.upload(&path).await.unwrap();
    let uploads = f
        .postsyncer
        .requests()
        .iter()
        .filter(|r| r.path.ends_with("/media/upload/file"))
        .count();
    assert_eq!(
        uploads, 1,
        "not sent again: the library showed it had landed"
    );
    let remote = t.engine.list_remote("dest").await.unwrap();
    assert_eq!(remote.len(), 1);
    assert_eq!(remote[0].id, media[0].id);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postsyncer_list_refresh_and_delete() {
    let f = Fakes::start(Options::default()).await;
    let t = postsyncer(&f);
    let ctx = t.engine.ctx(Progress::none());
    let clip = t.file("clip.mp4", &mp4(5000));
    let media = t.upload(&clip).await.unwrap();
    assert_eq!(
        media[0].status,
        MediaStatus::Processing,
        "videos start processing"
    );
    let done = t
        .engine
        .wait(
            "dest",
            media.clone(),
            &ctx,
            std::time::Duration::from_secs(30),
        )
        .await
        .unwrap();
    assert_eq!(done[0].status, MediaStatus::Ready);
    t.engine.account_test("dest").await.unwrap();
    let p = t.engine.provider("dest").unwrap();
    p.delete(&media[0].id, &ctx).await.unwrap();
    assert!(t.engine.list_remote("dest").await.unwrap().is_empty());
    let lib = t.library();
    assert_eq!(
        lib[0].status,
        ferry_core::library::ItemStatus::Ready,
        "the record has the latest status"
    );
}

fn fastpix(f: &Fakes) -> TestEngine {
    TestEngine::with_account(
        Kind::Fastpix,
        &[
            ("api_url", f.fastpix.api_url()),
            ("token_id", ferry_fakes::FASTPIX_TOKEN_ID.to_string()),
        ],
        Some(ferry_fakes::FASTPIX_SECRET),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fastpix_import_hands_over_the_url_and_waits_until_ready_or_failed() {
    let f = Fakes::start(Options::default()).await;
    let t = fastpix(&f);
    let ctx = t.engine.ctx(Progress::none());
    let media = t
        .import("http://127.0.0.1:9/videos/launch.mp4")
        .await
        .unwrap();
    assert_eq!(media[0].status, MediaStatus::Processing);
    let done = t
        .engine
        .wait("dest", media, &ctx, std::time::Duration::from_secs(30))
        .await
        .unwrap();
    assert_eq!(done[0].status, MediaStatus::Ready);
    assert_eq!(
        f.fastpix.media_status(&done[0].id).as_deref(),
        Some("Ready")
    );

    let failing = t
        .import("http://127.0.0.1:9/videos/fail.mp4")
        .await
        .unwrap();
    let done = t
        .engine
        .wait("dest", failing, &ctx, std::time::Duration::from_secs(30))
        .await
        .unwrap();
    assert_eq!(done[0].status, MediaStatus::Failed);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fastpix_large_upload_goes_in_chunks_and_resumes_after_a_reset() {
    let f = Fakes::start(Options::default()).await;
    let t = fastpix(&f);
    let size = (ferry_core::providers::fastpix::SESSION_CHUNK * 2 + 12_345) as usize;
    let bytes = mp4(size - 24);
    let path = t.file("long.mp4", &bytes);
    // Cut the second chunk: the client asks the session what it holds and resumes.
    f.fastpix.push_fault(ferry_fakes::Fault::new(
        crate::FASTPIX_SESSION_PATH,
        ferry_fakes::FaultKind::Delay(std::time::Duration::ZERO),
    ));
    f.fastpix.push_fault(ferry_fakes::Fault::new(
        crate::FASTPIX_SESSION_PATH,
        ferry_fakes::FaultKind::ResetMidBody,
    ));
    let media = t.upload(&path).await.unwrap();
    let obj = f
        .fastpix
        .object(&media[0].id)
        .expect("stored under the upload id");
    assert_eq!(obj.bytes, bytes);
    let puts: Vec<_> = f
        .fastpix
        .requests()
        .into_iter()
        .filter(|r| r.method == "PUT" && r.path.contains(crate::FASTPIX_SESSION_PATH))
        .collect();
    assert!(
        puts.iter().any(|r| r
            .header("content-range")
            .is_some_and(|v| v.starts_with("bytes */"))),
        "asked for the committed range"
    );
    let sent: u64 = puts.iter().map(|r| r.body_len).sum();
    assert!(
        sent < bytes.len() as u64 + ferry_core::providers::fastpix::SESSION_CHUNK + 1,
        "only the cut chunk was sent again"
    );
}
