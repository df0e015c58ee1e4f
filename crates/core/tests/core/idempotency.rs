//! Creates that must not be repeated: an answer that comes after the body was sent (a
//! gateway's 504/524, a proxy's 408) or never comes (the attempt was cut off: paused,
//! quit, killed) leaves it unknown whether the server kept it. Ferry asks the server
//! ("did it land?") and reuses the handles it journaled before sending, so exactly one
//! remote object results.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ferry_core::providers::{Provider, Upload};
#[cfg(not(windows))]
use ferry_core::transfer::TransferRef;
use ferry_core::transfer::{Ctx, Journal, Progress, Source};
use ferry_core::Kind;
use ferry_fakes::{Fake, Fakes, Fault, FaultKind, Options};

use crate::support::{mp4, png, TestEngine};

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

fn synposter(f: &Fakes) -> TestEngine {
    TestEngine::with_account(
        Kind::Synposter,
        &[("api_url", f.synposter.api_url())],
        Some(ferry_fakes::SYNPOSTER_KEY),
    )
}

fn socialsyncer(f: &Fakes) -> TestEngine {
    TestEngine::with_account(
        Kind::Socialsyncer,
        &[("api_url", f.socialsyncer.api_url())],
        Some(ferry_fakes::SOCIALSYNCER_KEY),
    )
}

fn posts_to(fake: &Fake, path_end: &str) -> usize {
    fake.requests()
        .iter()
        .filter(|r| r.method == "POST" && r.path.ends_with(path_end))
        .count()
}

/// A FastPix list (`on-demand` or `on-demand/uploads`), read straight from the fake.
async fn fastpix_list(f: &Fakes, path: &str) -> Vec<serde_json::Value> {
    let v: serde_json::Value = reqwest::Client::new()
        .get(format!("{}/{path}?limit=50", f.fastpix.api_url()))
        .basic_auth(
            ferry_fakes::FASTPIX_TOKEN_ID,
            Some(ferry_fakes::FASTPIX_SECRET),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    v["data"].as_array().cloned().unwrap_or_default()
}

// ------------------------------------------------------------------ answered after it landed

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_postsyncer_upload_answered_504_after_it_was_stored_is_not_sent_again() {
    let f = Fakes::start(Options::default()).await;
    f.postsyncer.push_fault(Fault::new(
        "/media/upload/file",
        FaultKind::StoreThenStatus(504),
    ));
    let t = postsyncer(&f);
    let path = t.file("gateway.png", &png(4000));
    let media = t.upload(&path).await.unwrap();
    assert_eq!(
        posts_to(&f.postsyncer, "/media/upload/file"),
        1,
        "sent once"
    );
    assert_eq!(f.postsyncer.objects().len(), 1, "exactly one remote object");
    let remote = t.engine.list_remote("dest").await.unwrap();
    assert_eq!(remote.len(), 1);
    assert_eq!(remote[0].id, media[0].id, "the job has that object");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_postsyncer_import_answered_408_after_it_was_stored_is_not_sent_again() {
    let f = Fakes::start(Options::default()).await;
    f.origin.serve("/in/a.png", png(3000), "image/png");
    f.postsyncer.push_fault(Fault::new(
        "/media/upload/url",
        FaultKind::StoreThenStatus(408),
    ));
    let t = postsyncer(&f);
    let media = t.import(&f.origin.url("/in/a.png")).await.unwrap();
    assert_eq!(posts_to(&f.postsyncer, "/media/upload/url"), 1, "sent once");
    assert_eq!(f.postsyncer.objects().len(), 1, "exactly one remote object");
    let remote = t.engine.list_remote("dest").await.unwrap();
    assert_eq!(remote.len(), 1);
    assert_eq!(remote[0].id, media[0].id, "the job has that object");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fastpix_import_answered_524_after_it_was_created_is_not_created_again() {
    let f = Fakes::start(Options::default()).await;
    f.fastpix
        .push_fault(Fault::new("/v1/on-demand", FaultKind::StoreThenStatus(524)).method("POST"));
    let t = fastpix(&f);
    let media = t
        .import("http://127.0.0.1:9/videos/once.mp4")
        .await
        .unwrap();
    assert_eq!(posts_to(&f.fastpix, "/on-demand"), 1, "created once");
    let all = fastpix_list(&f, "on-demand").await;
    assert_eq!(all.len(), 1, "exactly one remote media");
    assert_eq!(all[0]["id"].as_str().unwrap(), media[0].id);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fastpix_upload_session_answered_504_after_it_was_created_is_not_created_again() {
    let f = Fakes::start(Options::default()).await;
    f.fastpix.push_fault(
        Fault::new("/on-demand/upload", FaultKind::StoreThenStatus(504)).method("POST"),
    );
    let t = fastpix(&f);
    let bytes = mp4(20_000);
    let path = t.file("clip.mp4", &bytes);
    let media = t.upload(&path).await.unwrap();
    assert_eq!(posts_to(&f.fastpix, "/on-demand/upload"), 1, "created once");
    assert!(
        fastpix_list(&f, "on-demand/uploads").await.is_empty(),
        "no session left waiting"
    );
    assert_eq!(f.fastpix.objects().len(), 1, "exactly one remote object");
    assert_eq!(f.fastpix.object(&media[0].id).unwrap().bytes, bytes);
}

// ------------------------------------------------------------------ cut off, then resumed

/// A job's resume state kept in memory, as the queue keeps it in the job's row.
#[derive(Default)]
struct MemJournal(Mutex<Option<serde_json::Value>>);

impl Journal for MemJournal {
    fn load(&self) -> Option<serde_json::Value> {
        self.0.lock().unwrap().clone()
    }
    fn save(&self, state: &serde_json::Value) -> ferry_core::Result<()> {
        *self.0.lock().unwrap() = Some(state.clone());
        Ok(())
    }
}

fn upload_of(path: &Path, mime: &str) -> Upload {
    let meta = std::fs::metadata(path).unwrap();
    let name = path.file_name().unwrap().to_string_lossy().into_owned();
    Upload {
        api_name: name.clone(),
        name,
        mime: mime.to_string(),
        size: meta.len(),
        source: Source::file(path.to_path_buf(), &meta),
        naming: Default::default(),
    }
}

fn ctx_with(t: &TestEngine, journal: &Arc<MemJournal>) -> Ctx {
    let mut ctx = t.engine.ctx(Progress::none());
    ctx.retry.base = Duration::from_millis(5);
    ctx.journal = Some(journal.clone());
    ctx
}

/// Run `attempt` until the server holds its object (`landed` says so), then drop it
/// mid-wait for the answer — what a kill -9 does to the attempt. Bounded.
async fn cut_off_once_landed<F, L, LF>(attempt: F, landed: L)
where
    F: std::future::Future,
    L: Fn() -> LF,
    LF: std::future::Future<Output = bool>,
{
    tokio::pin!(attempt);
    for _ in 0..400 {
        tokio::select! {
            _ = &mut attempt => panic!("the attempt finished; the fault should hold its answer"),
            _ = tokio::time::sleep(Duration::from_millis(25)) => {}
        }
        if landed().await {
            return;
        }
    }
    panic!("the server never stored the object");
}

/// Cut a provider's upload off after the server stored it, then upload again with the
/// same journal.
async fn cut_then_resume(t: &TestEngine, upload: &Upload, landed: impl Fn() -> bool) {
    let provider: Arc<dyn Provider> = t.engine.provider("dest").unwrap();
    let journal = Arc::new(MemJournal::default());
    let first = ctx_with(t, &journal);
    cut_off_once_landed(provider.upload(upload, &first), || {
        let l = landed();
        async move { l }
    })
    .await;
    first.cancel.cancel();
    let second = ctx_with(t, &journal);
    let media = provider.upload(upload, &second).await.unwrap();
    assert_eq!(media.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_synposter_upload_cut_off_after_storage_kept_it_resumes_against_the_same_object() {
    let f = Fakes::start(Options::default()).await;
    f.synposter.push_fault(
        Fault::new("/storage/v1/object/upload/sign", FaultKind::StoreThenStall).method("PUT"),
    );
    let t = synposter(&f);
    let bytes = png(50_000);
    let path = t.file("kept.png", &bytes);
    let upload = upload_of(&path, "image/png");
    cut_then_resume(&t, &upload, || f.synposter.objects().len() == 1).await;
    let objs = f.synposter.objects();
    assert_eq!(objs.len(), 1, "exactly one remote object");
    assert_eq!(objs[0].bytes, bytes);
    assert_eq!(posts_to(&f.synposter, "/v1/media"), 1, "presigned once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_socialsyncer_upload_cut_off_after_storage_kept_it_resumes_against_the_same_object() {
    let f = Fakes::start(Options::default()).await;
    f.socialsyncer
        .push_fault(Fault::new("/s3/", FaultKind::StoreThenStall).method("PUT"));
    let t = socialsyncer(&f);
    let bytes = png(50_000);
    let path = t.file("kept.png", &bytes);
    let upload = upload_of(&path, "image/png");
    cut_then_resume(&t, &upload, || f.socialsyncer.objects().len() == 1).await;
    let objs = f.socialsyncer.objects();
    assert_eq!(objs.len(), 1, "exactly one remote object");
    assert_eq!(objs[0].bytes, bytes);
    assert_eq!(
        posts_to(&f.socialsyncer, "/media/presign"),
        1,
        "presigned once"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_postsyncer_upload_cut_off_after_it_was_stored_is_found_instead_of_sent_again() {
    let f = Fakes::start(Options::default()).await;
    f.postsyncer
        .push_fault(Fault::new("/media/upload/file", FaultKind::StoreThenStall));
    let t = postsyncer(&f);
    let path = t.file("kept.png", &png(5000));
    let upload = upload_of(&path, "image/png");
    cut_then_resume(&t, &upload, || f.postsyncer.objects().len() == 1).await;
    assert_eq!(f.postsyncer.objects().len(), 1, "exactly one remote object");
    assert_eq!(
        posts_to(&f.postsyncer, "/media/upload/file"),
        1,
        "sent once"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_postsyncer_import_cut_off_after_it_was_stored_is_found_instead_of_sent_again() {
    let f = Fakes::start(Options::default()).await;
    f.origin.serve("/in/b.png", png(3000), "image/png");
    f.postsyncer
        .push_fault(Fault::new("/media/upload/url", FaultKind::StoreThenStall));
    let t = postsyncer(&f);
    let provider = t.engine.provider("dest").unwrap();
    let url = url::Url::parse(&f.origin.url("/in/b.png")).unwrap();
    let journal = Arc::new(MemJournal::default());
    let first = ctx_with(&t, &journal);
    cut_off_once_landed(provider.import_url(&url, &first), || async {
        f.postsyncer.objects().len() == 1
    })
    .await;
    first.cancel.cancel();
    let media = provider
        .import_url(&url, &ctx_with(&t, &journal))
        .await
        .unwrap();
    assert_eq!(f.postsyncer.objects().len(), 1, "exactly one remote object");
    assert_eq!(posts_to(&f.postsyncer, "/media/upload/url"), 1, "sent once");
    let remote = t.engine.list_remote("dest").await.unwrap();
    assert_eq!(remote[0].id, media[0].id);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fastpix_import_cut_off_after_it_was_created_is_found_by_its_ferry_ref() {
    let f = Fakes::start(Options::default()).await;
    f.fastpix
        .push_fault(Fault::new("/v1/on-demand", FaultKind::StoreThenStall).method("POST"));
    let t = fastpix(&f);
    let provider = t.engine.provider("dest").unwrap();
    let url = url::Url::parse("http://127.0.0.1:9/videos/kept.mp4").unwrap();
    let journal = Arc::new(MemJournal::default());
    let first = ctx_with(&t, &journal);
    cut_off_once_landed(provider.import_url(&url, &first), || async {
        fastpix_list(&f, "on-demand").await.len() == 1
    })
    .await;
    first.cancel.cancel();
    let media = provider
        .import_url(&url, &ctx_with(&t, &journal))
        .await
        .unwrap();
    let all = fastpix_list(&f, "on-demand").await;
    assert_eq!(all.len(), 1, "exactly one remote media");
    assert_eq!(all[0]["id"].as_str().unwrap(), media[0].id);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fastpix_upload_cut_off_after_its_session_was_created_resumes_that_session() {
    let f = Fakes::start(Options::default()).await;
    f.fastpix
        .push_fault(Fault::new("/on-demand/upload", FaultKind::StoreThenStall).method("POST"));
    let t = fastpix(&f);
    let provider = t.engine.provider("dest").unwrap();
    let bytes = mp4(30_000);
    let path = t.file("kept.mp4", &bytes);
    let upload = upload_of(&path, "video/mp4");
    let journal = Arc::new(MemJournal::default());
    let first = ctx_with(&t, &journal);
    cut_off_once_landed(provider.upload(&upload, &first), || async {
        fastpix_list(&f, "on-demand/uploads").await.len() == 1
    })
    .await;
    first.cancel.cancel();
    let media = provider
        .upload(&upload, &ctx_with(&t, &journal))
        .await
        .unwrap();
    assert!(
        fastpix_list(&f, "on-demand/uploads").await.is_empty(),
        "the first session was used, none is left waiting"
    );
    assert_eq!(posts_to(&f.fastpix, "/on-demand/upload"), 1, "one session");
    assert_eq!(f.fastpix.objects().len(), 1, "exactly one remote object");
    assert_eq!(f.fastpix.object(&media[0].id).unwrap().bytes, bytes);
}

/// An S3 account on a fresh s3s-fs, its provider, and a 200 kB PNG to send (`same.png`).
#[cfg(not(windows))]
fn s3_with_a_png() -> (
    crate::s3::S3Server,
    TestEngine,
    Arc<dyn Provider>,
    Upload,
    Vec<u8>,
) {
    let server = crate::s3::S3Server::start("media");
    let t = crate::s3::account(&server, &[], crate::s3::SECRET_KEY);
    let provider = t.engine.provider("dest").unwrap();
    let bytes = png(200_000);
    let upload = upload_of(&t.file("same.png", &bytes), "image/png");
    (server, t, provider, upload, bytes)
}

#[cfg(not(windows))] // s3s-fs (a Linux program) cannot be started under Wine
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_s3_upload_run_again_with_its_journal_writes_the_same_key() {
    let (server, t, provider, upload, bytes) = s3_with_a_png();
    let journal = Arc::new(MemJournal::default());
    // The first attempt's answer is "lost": its journal is all the next one has.
    let first = provider
        .upload(&upload, &ctx_with(&t, &journal))
        .await
        .unwrap();
    let second = provider
        .upload(&upload, &ctx_with(&t, &journal))
        .await
        .unwrap();
    assert_eq!(first[0].id, second[0].id, "the journaled key is reused");
    let stored = crate::support::files_under(&server.root.join("media"));
    assert_eq!(stored.len(), 1, "exactly one remote object: {stored:?}");
    assert_eq!(std::fs::read(&stored[0]).unwrap(), bytes);
}

/// A journal that names its transfer (as the queue's does for a job) and counts saves.
#[cfg(not(windows))]
struct NamedJournal {
    stable: TransferRef,
    saves: std::sync::atomic::AtomicUsize,
}

#[cfg(not(windows))]
impl Journal for NamedJournal {
    fn load(&self) -> Option<serde_json::Value> {
        None
    }
    fn save(&self, _: &serde_json::Value) -> ferry_core::Result<()> {
        self.saves.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Ok(())
    }
    fn stable_ref(&self) -> Option<TransferRef> {
        Some(self.stable.clone())
    }
}

#[cfg(not(windows))] // s3s-fs (a Linux program) cannot be started under Wine
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_s3_job_puts_to_the_key_its_reference_names_in_every_attempt_without_journaling_it() {
    let (server, t, provider, upload, _) = s3_with_a_png();
    let named = |id: &str| {
        Arc::new(NamedJournal {
            stable: TransferRef {
                id: id.to_string(),
                created: chrono::Utc::now(),
            },
            saves: Default::default(),
        })
    };
    let ctx = |j: &Arc<NamedJournal>| {
        let mut ctx = t.engine.ctx(Progress::none());
        ctx.journal = Some(j.clone());
        ctx
    };
    let job = named("home-a-7");
    // Two attempts of one job (the first one's answer "lost"), then another job.
    let first = provider.upload(&upload, &ctx(&job)).await.unwrap();
    let second = provider.upload(&upload, &ctx(&job)).await.unwrap();
    let other = provider
        .upload(&upload, &ctx(&named("home-b-7")))
        .await
        .unwrap();
    assert_eq!(first[0].id, second[0].id, "one job, one key");
    assert_ne!(first[0].id, other[0].id, "another job, another key");
    assert!(first[0].id.ends_with("/same.png"), "{}", first[0].id);
    assert_eq!(job.saves.load(std::sync::atomic::Ordering::SeqCst), 0);
    let stored = crate::support::files_under(&server.root.join("media"));
    assert_eq!(stored.len(), 2, "one object a job: {stored:?}");
}

// ------------------------------------------------------------------ through the queue

/// Pause the job once `landed` says the server holds its object (the attempt is waiting
/// for an answer that never comes), then resume it: the job's own journal (its row in
/// the database) leads it back to that object.
async fn pause_once_landed_then_resume(t: &TestEngine, path: &Path, landed: impl Fn() -> bool) {
    use ferry_core::{JobStatus, RunOptions, Selector};
    let id = t
        .engine
        .enqueue_paths(&[path.to_path_buf()], "dest", "test", false)
        .unwrap()[0];
    let run = t.engine.run(RunOptions {
        scope: Some(vec![id]),
        ..RunOptions::default()
    });
    tokio::pin!(run);
    let mut paused = false;
    for _ in 0..400 {
        tokio::select! {
            r = &mut run => { r.unwrap(); break; }
            _ = tokio::time::sleep(Duration::from_millis(25)) => {}
        }
        if !paused && landed() {
            t.engine.pause(Selector::One(id)).unwrap();
            paused = true;
        }
    }
    assert!(paused, "the server never stored the object");
    assert_eq!(t.engine.job(id).unwrap().status, JobStatus::Paused);
    assert_eq!(t.engine.resume(Selector::One(id)).unwrap(), 1);
    let media = t.run(id).await.unwrap();
    assert_eq!(media.len(), 1);
    assert_eq!(t.library().len(), 1, "one record");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_synposter_job_paused_after_storage_kept_its_put_resumes_against_the_same_object() {
    let f = Fakes::start(Options::default()).await;
    f.synposter.push_fault(
        Fault::new("/storage/v1/object/upload/sign", FaultKind::StoreThenStall).method("PUT"),
    );
    let t = synposter(&f);
    let bytes = png(40_000);
    let path = t.file("paused.png", &bytes);
    pause_once_landed_then_resume(&t, &path, || f.synposter.objects().len() == 1).await;
    let objs = f.synposter.objects();
    assert_eq!(objs.len(), 1, "exactly one remote object");
    assert_eq!(objs[0].bytes, bytes);
    assert_eq!(posts_to(&f.synposter, "/v1/media"), 1, "presigned once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_postsyncer_job_paused_after_its_upload_was_stored_resumes_without_sending_it_again() {
    let f = Fakes::start(Options::default()).await;
    f.postsyncer
        .push_fault(Fault::new("/media/upload/file", FaultKind::StoreThenStall));
    let t = postsyncer(&f);
    let path = t.file("paused.png", &png(6000));
    pause_once_landed_then_resume(&t, &path, || f.postsyncer.objects().len() == 1).await;
    assert_eq!(f.postsyncer.objects().len(), 1, "exactly one remote object");
    assert_eq!(
        posts_to(&f.postsyncer, "/media/upload/file"),
        1,
        "sent once"
    );
}
