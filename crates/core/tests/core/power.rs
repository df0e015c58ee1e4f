//! The machine's state as the runner sees it, on Linux, against stand-ins for logind and
//! NetworkManager on a private system bus (`ferry_fakes::sysbus`): the sleep inhibitor
//! held while sending and released when idle, and offline jobs that wait and resume.

use std::time::{Duration, Instant};

use ferry_core::{JobStatus, Kind, RunOptions};
use ferry_fakes::sysbus::SystemBus;
use ferry_fakes::{Fakes, Fault, FaultKind, Options};
use tokio_util::sync::CancellationToken;

use crate::support::{png, TestEngine};

fn synposter(f: &Fakes, bus: &SystemBus) -> TestEngine {
    let t = TestEngine::with_account(
        Kind::Synposter,
        &[("api_url", f.synposter.api_url())],
        Some(ferry_fakes::SYNPOSTER_KEY),
    );
    t.engine.use_system_bus(Some(bus.address.clone()));
    t
}

async fn wait_until(secs: u64, what: &str, f: impl Fn() -> bool) {
    let end = Instant::now() + Duration::from_secs(secs);
    while !f() {
        assert!(Instant::now() < end, "{what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sending_holds_a_sleep_inhibitor_that_is_released_when_the_queue_is_idle() {
    let f = Fakes::start(Options::default()).await;
    let bus = SystemBus::start();
    let t = synposter(&f, &bus);
    // A slow storage server: the upload takes a few seconds.
    f.synposter.push_fault(
        Fault::new("/storage/", FaultKind::Delay(Duration::from_secs(3))).method("PUT"),
    );
    let (stop, runner) = crate::support::run_forever(&t.engine);
    let a = t.file("a.png", &png(20_000));
    let id = t.engine.enqueue_paths(&[a], "dest", "test", false).unwrap()[0];
    wait_until(20, "an inhibitor while sending", || {
        bus.inhibitors_held() == 1
    })
    .await;
    assert!(
        t.engine.job(id).unwrap().status.is_running(),
        "held while the job runs"
    );
    let ev = &bus.events()[0];
    assert_eq!(ev["event"], "inhibit");
    assert_eq!(ev["what"], "sleep");
    assert_eq!(ev["who"], "Ferry");
    assert_eq!(ev["why"], "Uploading files");
    assert_eq!(ev["mode"], "block");
    wait_until(20, "the upload finishes", || {
        t.engine.job(id).unwrap().status == JobStatus::Succeeded
    })
    .await;
    // The runner goes on (it runs forever) but the queue is idle: the fd is closed.
    wait_until(20, "released when idle", || bus.inhibitors_held() == 0).await;
    assert!(!runner.is_finished());

    // Off: a second upload takes none.
    t.engine.update_settings(|s| s.keep_awake = false).unwrap();
    f.synposter.push_fault(
        Fault::new("/storage/", FaultKind::Delay(Duration::from_secs(1))).method("PUT"),
    );
    let b = t.file("b.png", &png(30_000));
    let id = t.engine.enqueue_paths(&[b], "dest", "test", false).unwrap()[0];
    wait_until(20, "the second upload finishes", || {
        t.engine.job(id).unwrap().status == JobStatus::Succeeded
    })
    .await;
    assert_eq!(bus.events().len(), 2, "one inhibit and its release only");
    stop.cancel();
    runner.await.unwrap().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offline_jobs_wait_without_attempts_while_a_local_library_job_still_runs() {
    let f = Fakes::start(Options::default()).await;
    let bus = SystemBus::start();
    let t = synposter(&f, &bus);
    // A destination whose port is closed, on a machine that says it is disconnected.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = closed.local_addr().unwrap();
    drop(closed);
    t.engine
        .account_add(
            "gone",
            Kind::Synposter,
            &[("api_url".into(), format!("http://{addr}/api/v1"))],
            ferry_core::SecretInput::Value(ferry_core::secrets::Secret::new(
                ferry_fakes::SYNPOSTER_KEY,
            )),
        )
        .unwrap();
    bus.set("nm_state", 20.into());
    let a = t.file("a.png", &png(1_000));
    let id = t.engine.enqueue_paths(&[a], "gone", "test", false).unwrap()[0];
    let (stop, runner) = crate::support::run_forever(&t.engine);
    wait_until(30, "offline", || {
        t.engine
            .job(id)
            .unwrap()
            .error
            .is_some_and(|e| e.code == "network.offline")
    })
    .await;
    let job = t.engine.job(id).unwrap();
    assert_eq!(job.status, JobStatus::WaitingRetry);
    assert_eq!(job.attempts, 0);
    let hold = t.engine.runner().unwrap().hold.unwrap();
    assert_eq!(hold.reason, ferry_core::HoldReason::Offline);
    // A local library folder needs no network: its jobs still run.
    let b = t.file("b.png", &png(2_000));
    let local = t
        .engine
        .enqueue_paths(&[b], "library", "test", false)
        .unwrap()[0];
    wait_until(20, "the local job runs while offline", || {
        t.engine.job(local).unwrap().status == JobStatus::Succeeded
    })
    .await;
    assert_eq!(t.engine.job(id).unwrap().status, JobStatus::WaitingRetry);
    stop.cancel();
    runner.await.unwrap().unwrap();
}

fn forever(
    t: &TestEngine,
    stop: &CancellationToken,
) -> tokio::task::JoinHandle<ferry_core::Result<()>> {
    let engine = t.engine.clone();
    let stop = stop.clone();
    tokio::spawn(async move {
        engine
            .run(RunOptions {
                forever: true,
                stop: Some(stop),
                ..RunOptions::default()
            })
            .await
    })
}

fn hold_of(t: &TestEngine) -> Option<ferry_core::HoldReason> {
    t.engine.runner().and_then(|h| h.hold).map(|h| h.reason)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn going_on_battery_pauses_a_running_upload_and_mains_power_resumes_it() {
    let f = Fakes::start(Options::default()).await;
    let bus = SystemBus::start();
    let t = synposter(&f, &bus);
    t.engine
        .update_settings(|s| s.pause_on_battery = true)
        .unwrap();
    f.synposter.push_fault(
        Fault::new("/storage/", FaultKind::Delay(Duration::from_secs(4))).method("PUT"),
    );
    let stop = CancellationToken::new();
    let runner = forever(&t, &stop);
    let a = t.file("a.png", &png(20_000));
    let id = t.engine.enqueue_paths(&[a], "dest", "test", false).unwrap()[0];
    wait_until(20, "uploading", || {
        t.engine.job(id).unwrap().status == JobStatus::Uploading
    })
    .await;
    bus.set("on_battery", true.into());
    wait_until(20, "held on battery", || {
        hold_of(&t) == Some(ferry_core::HoldReason::Battery)
    })
    .await;
    wait_until(20, "back to the queue", || {
        t.engine.job(id).unwrap().status == JobStatus::Queued
    })
    .await;
    let job = t.engine.job(id).unwrap();
    assert_eq!(job.attempts, 0, "the paused attempt was given back");
    assert!(job.error.is_none(), "{:?}", job.error);
    // A local library job waits too: on battery nothing is sent.
    let b = t.file("b.png", &png(3_000));
    let local = t
        .engine
        .enqueue_paths(&[b], "library", "test", false)
        .unwrap()[0];
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(t.engine.job(id).unwrap().status, JobStatus::Queued);
    assert_eq!(t.engine.job(local).unwrap().status, JobStatus::Queued);

    bus.set("on_battery", false.into());
    wait_until(30, "both finish on mains power", || {
        t.engine.job(id).unwrap().status == JobStatus::Succeeded
            && t.engine.job(local).unwrap().status == JobStatus::Succeeded
    })
    .await;
    assert_eq!(t.engine.job(id).unwrap().attempts, 1);
    assert_eq!(hold_of(&t), None);
    assert_eq!(f.synposter.objects().len(), 1);
    stop.cancel();
    runner.await.unwrap().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_metered_connection_holds_network_jobs_until_it_is_not_metered() {
    let f = Fakes::start(Options::default()).await;
    let bus = SystemBus::start();
    let t = synposter(&f, &bus);
    // 3 = NetworkManager's "guessed metered" (a phone's hotspot).
    bus.set("metered", 3.into());
    // Off by default: metered or not, it sends.
    let stop = CancellationToken::new();
    let runner = forever(&t, &stop);
    let a = t.file("a.png", &png(5_000));
    let first = t.engine.enqueue_paths(&[a], "dest", "test", false).unwrap()[0];
    wait_until(20, "sent while the pause is off", || {
        t.engine.job(first).unwrap().status == JobStatus::Succeeded
    })
    .await;
    t.engine
        .update_settings(|s| s.pause_on_metered = true)
        .unwrap();
    wait_until(20, "held on metered", || {
        hold_of(&t) == Some(ferry_core::HoldReason::Metered)
    })
    .await;
    let b = t.file("b.png", &png(6_000));
    let id = t.engine.enqueue_paths(&[b], "dest", "test", false).unwrap()[0];
    // A local library job needs no network: it still runs.
    let c = t.file("c.png", &png(7_000));
    let local = t
        .engine
        .enqueue_paths(&[c], "library", "test", false)
        .unwrap()[0];
    wait_until(20, "the local job runs", || {
        t.engine.job(local).unwrap().status == JobStatus::Succeeded
    })
    .await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(t.engine.job(id).unwrap().status, JobStatus::Queued);
    assert_eq!(t.engine.job(id).unwrap().attempts, 0);
    bus.set("metered", 4.into());
    wait_until(20, "sent once not metered", || {
        t.engine.job(id).unwrap().status == JobStatus::Succeeded
    })
    .await;
    assert_eq!(hold_of(&t), None);
    stop.cancel();
    runner.await.unwrap().unwrap();
}
