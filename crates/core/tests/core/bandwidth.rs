//! Bandwidth limits with a real runner over real sockets: a limit holds across parallel
//! jobs, a rate of 0 keeps jobs queued and puts a running one back (its S3 multipart
//! upload kept), and lifting it sends them — each change taking effect while the queue runs.

use std::time::{Duration, Instant};

use ferry_core::{Engine, JobId, JobStatus, Kind, RunOptions};
use ferry_fakes::{Fakes, Options};

use crate::support::{png, TestEngine};

fn socialsyncer(f: &Fakes) -> TestEngine {
    TestEngine::with_account(
        Kind::Socialsyncer,
        &[("api_url", f.socialsyncer.api_url())],
        Some(ferry_fakes::SOCIALSYNCER_KEY),
    )
}

async fn wait_for(what: &str, secs: u64, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn status(engine: &Engine, id: JobId) -> JobStatus {
    engine.job(id).unwrap().status
}

fn puts(f: &Fakes) -> usize {
    f.socialsyncer
        .requests()
        .iter()
        .filter(|r| r.method == "PUT")
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_uploads_at_once_are_held_to_ferrys_limit_together() {
    let f = Fakes::start(Options::default()).await;
    let t = socialsyncer(&f);
    t.engine
        .update_settings(|s| s.bwlimit = "1M".into())
        .unwrap();
    let paths: Vec<_> = (0..4)
        .map(|i| t.file(&format!("p{i}.png"), &png(768 * 1024 + i)))
        .collect();
    let ids = t
        .engine
        .enqueue_paths(&paths, "dest", "test", false)
        .unwrap();
    let started = Instant::now();
    t.engine
        .run(RunOptions {
            scope: Some(ids.clone()),
            ..RunOptions::default()
        })
        .await
        .unwrap();
    let took = started.elapsed();
    for id in &ids {
        assert_eq!(status(&t.engine, *id), JobStatus::Succeeded);
    }
    // 3 MiB at 1 MiB/s: about 3 s, whatever the machine (loopback alone takes
    // milliseconds). The first slice of each job goes at once.
    assert!(
        took >= Duration::from_millis(2600),
        "3 MiB went in {took:?} under a 1 MiB/s limit"
    );
    let now = t.engine.bandwidth();
    assert_eq!(now.limit, "1M");
    assert_eq!(now.bytes_per_sec, Some(1 << 20));
    assert!(!now.waiting);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_zero_rate_keeps_jobs_queued_until_the_limit_lifts() {
    let f = Fakes::start(Options::default()).await;
    let t = socialsyncer(&f);
    t.engine
        .update_settings(|s| s.bwlimit = "0".into())
        .unwrap();
    let now = t.engine.bandwidth();
    assert!(now.waiting, "{now:?}");
    assert_eq!(now.resumes_at, None, "0 all week has no start time");
    // The local library is a copy on this machine: never held back.
    let local = t.file("here.png", &png(4000));
    let kept = t
        .engine
        .enqueue_paths(&[local], "library", "test", false)
        .unwrap()[0];
    let path = t.file("held.png", &png(200_000));
    let id = t
        .engine
        .enqueue_paths(&[path], "dest", "test", false)
        .unwrap()[0];
    let (stop, task) = crate::support::run_forever(&t.engine);
    wait_for("the local copy", 10, || {
        status(&t.engine, kept) == JobStatus::Succeeded
    })
    .await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(
        status(&t.engine, id),
        JobStatus::Queued,
        "held while the rate is 0"
    );
    assert_eq!(puts(&f), 0, "nothing was sent");
    // "Slow down" with a slow limit above 0 lets it go (the tray's toggle).
    t.engine
        .update_settings(|s| {
            s.slow_bwlimit = "512k".into();
            s.slow_down = true;
        })
        .unwrap();
    assert!(t.engine.bandwidth().slowed);
    wait_for("the upload once the limit lifted", 10, || {
        status(&t.engine, id) == JobStatus::Succeeded
    })
    .await;
    assert_eq!(puts(&f), 1);
    stop.cancel();
    task.await.unwrap().unwrap();
}

#[cfg(not(windows))] // s3s-fs (a Linux program) cannot be started under Wine
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_limit_of_zero_puts_a_running_upload_back_and_it_resumes_when_lifted() {
    use crate::queue::{big_png, s3_via_proxy, MIB};
    let (server, proxy) = s3_via_proxy().await;
    let t = crate::s3::account_at(&proxy.url(), &[], ferry_fakes::s3s::SECRET_KEY);
    let path = t.file("film.png", &big_png(48 * MIB));
    let id = t
        .engine
        .enqueue_paths(&[path], "dest", "test", false)
        .unwrap()[0];
    t.engine
        .update_settings(|s| s.bwlimit = "8M".into())
        .unwrap();
    let (stop, task) = crate::support::run_forever(&t.engine);
    wait_for("the upload to get going", 30, || {
        t.engine.job(id).unwrap().bytes_sent >= 12 * MIB as u64
    })
    .await;
    let attempts = t.engine.job(id).unwrap().attempts;
    // The timetable's "do not send" (here a setting): back to the queue within a turn
    // of the runner and the stop's wind-down, not failed.
    let changed = Instant::now();
    t.engine
        .update_settings(|s| s.bwlimit = "0".into())
        .unwrap();
    wait_for("the job back in the queue", 10, || {
        status(&t.engine, id) == JobStatus::Queued
    })
    .await;
    let back = changed.elapsed();
    assert!(back < Duration::from_secs(6), "took {back:?}");
    // s3s-fs keeps an open multipart upload as `.upload-ID.json` (and its stored parts
    // as `.upload_id-…`, none yet if both parts in flight were stopped).
    let open_uploads = || {
        std::fs::read_dir(&server.root)
            .unwrap()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().starts_with(".upload-"))
            .count()
    };
    assert_eq!(open_uploads(), 1, "the multipart upload is kept");
    let sent_before = proxy.up_bytes();
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(status(&t.engine, id), JobStatus::Queued, "still held");
    assert!(
        proxy.up_bytes() - sent_before < MIB as u64,
        "sent while the rate was 0"
    );
    t.engine
        .update_settings(|s| s.bwlimit = "off".into())
        .unwrap();
    wait_for("the upload to finish", 60, || {
        status(&t.engine, id) == JobStatus::Succeeded
    })
    .await;
    assert_eq!(open_uploads(), 0, "completed");
    let job = t.engine.job(id).unwrap();
    assert!(job.attempts <= attempts + 1, "{} attempts", job.attempts);
    // Resumed, not sent again from the start.
    assert!(
        proxy.up_bytes() < (48 + 40) * MIB as u64,
        "{} bytes through for a 48 MiB file",
        proxy.up_bytes()
    );
    stop.cancel();
    task.await.unwrap().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_limit_is_refused_and_the_old_one_kept() {
    let f = Fakes::start(Options::default()).await;
    let t = socialsyncer(&f);
    t.engine
        .update_settings(|s| s.bwlimit = "2M".into())
        .unwrap();
    let e = t
        .engine
        .update_settings(|s| s.bwlimit = "08:00 512k".into())
        .unwrap_err();
    assert!(e.message.contains("TIME,RATE"), "{}", e.message);
    assert_eq!(t.engine.config().settings.bwlimit, "2M");
    let e = t
        .engine
        .account_add(
            "slow",
            Kind::Socialsyncer,
            &[
                ("api_url".into(), f.socialsyncer.api_url()),
                ("bwlimit".into(), "fast".into()),
            ],
            ferry_core::SecretInput::Value(ferry_core::secrets::Secret::new("k")),
        )
        .unwrap_err();
    assert!(e.message.contains("not a rate"), "{}", e.message);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_accounts_own_zero_holds_only_its_jobs_and_is_shown_with_the_account() {
    use ferry_core::queue::bandwidth::AccountWaiting;
    let f = Fakes::start(Options::default()).await;
    let t = socialsyncer(&f);
    t.engine
        .account_add(
            "night",
            Kind::Socialsyncer,
            &[
                ("api_url".into(), f.socialsyncer.api_url()),
                ("bwlimit".into(), "0".into()),
            ],
            ferry_core::SecretInput::Value(ferry_core::secrets::Secret::new(
                ferry_fakes::SOCIALSYNCER_KEY,
            )),
        )
        .unwrap();
    let now = t.engine.bandwidth();
    assert!(!now.waiting, "all of Ferry may send: {now:?}");
    assert_eq!(
        now.accounts_waiting,
        vec![AccountWaiting {
            account: "night".into(),
            limit: "0".into(),
            resumes_at: None,
        }]
    );
    let day = t.file("day.png", &png(3000));
    let night = t.file("night.png", &png(4000));
    let sent = t
        .engine
        .enqueue_paths(&[day], "dest", "test", false)
        .unwrap()[0];
    let held = t
        .engine
        .enqueue_paths(&[night], "night", "test", false)
        .unwrap()[0];
    let (stop, task) = crate::support::run_forever(&t.engine);
    wait_for("the other account's upload", 10, || {
        status(&t.engine, sent) == JobStatus::Succeeded
    })
    .await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(status(&t.engine, held), JobStatus::Queued);
    stop.cancel();
    task.await.unwrap().unwrap();
    // While all of Ferry waits, that one line says it all.
    t.engine
        .update_settings(|s| s.bwlimit = "0".into())
        .unwrap();
    let now = t.engine.bandwidth();
    assert!(now.waiting);
    assert!(now.accounts_waiting.is_empty(), "{now:?}");
}
