//! `ferry queue …` and `ferry library refresh|delete` as a person drives them.

use std::path::{Path, PathBuf};
use std::process::Output;

use assert_cmd::Command;
use ferry_fakes::{Fakes, Fault, FaultKind, Options};
use serde_json::Value;

fn ferry(home: &Path) -> Command {
    let mut c = Command::cargo_bin("ferry").unwrap();
    c.arg("--home").arg(home).env_remove("FERRY_HOME");
    c
}

async fn run(mut cmd: Command) -> Output {
    tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap()
}

fn json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

fn png(dir: &Path, name: &str, n: usize) -> PathBuf {
    let mut v = vec![0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a];
    v.extend((0..n).map(|i| (i * 13 % 251) as u8));
    let p = dir.join(name);
    std::fs::write(&p, v).unwrap();
    p
}

/// The account `sp` at the Synposter fake, its key read from `$K` when used.
async fn add_synposter(home: &Path, f: &Fakes) {
    let mut c = ferry(home);
    c.args(["account", "add", "sp", "synposter"])
        .arg(format!("api_url={}", f.synposter.api_url()))
        .args(["--secret-env", "K"]);
    assert!(run(c).await.status.success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_jobs_are_listed_retried_and_finish_with_queue_run() {
    let f = Fakes::start(Options::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    add_synposter(&home, &f).await;
    // Storage is down for longer than the retry policy waits: the job fails.
    f.synposter
        .push_fault(Fault::new("/storage/", FaultKind::Status(503)).times(4));
    let p = png(dir.path(), "a.png", 500);
    let mut c = ferry(&home);
    c.args(["upload", "--to", "sp", "--json"])
        .arg(&p)
        .env("K", ferry_fakes::SYNPOSTER_KEY);
    let out = run(c).await;
    assert_eq!(out.status.code(), Some(1));
    let v = json(&out);
    assert_eq!(v[0]["error"]["code"], "provider.unavailable");
    let job = v[0]["job"].as_i64().unwrap();

    let mut c = ferry(&home);
    c.args(["queue", "list", "--json"]);
    let list = json(&run(c).await);
    assert_eq!(list[0]["id"], job);
    assert_eq!(list[0]["status"], "failed");
    assert_eq!(list[0]["error"]["code"], "provider.unavailable");

    let mut c = ferry(&home);
    c.args(["queue", "retry", &job.to_string()]);
    let out = run(c).await;
    assert!(String::from_utf8_lossy(&out.stdout).contains("queued again 1"));
    let mut c = ferry(&home);
    c.args(["queue", "run"])
        .env("K", ferry_fakes::SYNPOSTER_KEY);
    let out = run(c).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut c = ferry(&home);
    c.args(["queue", "list", "--all", "--json"]);
    let list = json(&run(c).await);
    assert_eq!(list[0]["status"], "succeeded");
    assert_eq!(f.synposter.objects().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pause_cancel_and_bad_ids_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let mut c = ferry(&home);
    c.args(["queue", "pause", "42"]);
    let out = run(c).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no job 42"));
    let mut c = ferry(&home);
    c.args(["queue", "pause"]);
    assert_eq!(
        run(c).await.status.code(),
        Some(2),
        "an id or --all is required"
    );
    let mut c = ferry(&home);
    c.args(["queue", "cancel", "--all"]);
    let out = run(c).await;
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("cancelled 0"));
    let mut c = ferry(&home);
    c.args(["queue", "list"]);
    assert!(String::from_utf8_lossy(&run(c).await.stdout).contains("the queue is empty"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn library_refresh_follows_processing_and_delete_removes_remotely() {
    let f = Fakes::start(Options::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let mut c = ferry(&home);
    c.args(["account", "add", "fp", "fastpix"])
        .arg(format!("api_url={}", f.fastpix.api_url()))
        .arg(format!("token_id={}", ferry_fakes::FASTPIX_TOKEN_ID))
        .args(["--secret-env", "FP"]);
    assert!(run(c).await.status.success());
    let mut c = ferry(&home);
    c.args([
        "import",
        "--to",
        "fp",
        "--json",
        "http://127.0.0.1:9/v/launch.mp4",
    ])
    .env("FP", ferry_fakes::FASTPIX_SECRET);
    let v = json(&run(c).await);
    assert_eq!(v[0]["media"][0]["status"], "processing");
    let mut status = String::new();
    for _ in 0..10 {
        let mut c = ferry(&home);
        c.args(["library", "refresh"])
            .env("FP", ferry_fakes::FASTPIX_SECRET);
        assert!(run(c).await.status.success());
        let mut c = ferry(&home);
        c.args(["library", "--json"]);
        let items = json(&run(c).await);
        status = items[0]["status"].as_str().unwrap().to_string();
        if status == "ready" {
            break;
        }
    }
    assert_eq!(status, "ready");
    let mut c = ferry(&home);
    c.args(["library", "--json"]);
    let id = json(&run(c).await)[0]["id"].as_i64().unwrap();
    let mut c = ferry(&home);
    c.args(["library", "delete", &id.to_string()])
        .env("FP", ferry_fakes::FASTPIX_SECRET);
    let out = run(c).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut c = ferry(&home);
    c.args(["library", "--json"]);
    assert_eq!(json(&run(c).await)[0]["status"], "deleted");
    let mut c = ferry(&home);
    c.args(["library", "remote", "fp", "--json"])
        .env("FP", ferry_fakes::FASTPIX_SECRET);
    assert_eq!(
        json(&run(c).await).as_array().unwrap().len(),
        0,
        "gone remotely too"
    );
}

/// `ferry queue top` and `ferry queue order` steer what `queue run` starts next: jobs
/// moved to the top first, the first named first, then the smallest file.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queue_top_and_queue_order_decide_what_queue_run_sends_first() {
    let f = Fakes::start(Options::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    add_synposter(&home, &f).await;
    // The API refuses the first four creates (not retried): four failed jobs, none sent.
    f.synposter
        .push_fault(Fault::new("/media", FaultKind::Status(400)).times(4));
    let files: Vec<PathBuf> = [900, 100, 700, 300]
        .iter()
        .enumerate()
        .map(|(i, n)| png(dir.path(), &format!("f{i}.png"), *n))
        .collect();
    let mut c = ferry(&home);
    c.args(["upload", "--to", "sp", "--json", "--concurrency", "1"])
        .args(&files)
        .env("K", ferry_fakes::SYNPOSTER_KEY);
    let out = run(c).await;
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let ids: Vec<i64> = json(&out)
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["job"].as_i64().unwrap())
        .collect();
    let mut c = ferry(&home);
    c.args(["queue", "retry", "--all"]);
    assert!(run(c).await.status.success());

    let mut c = ferry(&home);
    c.args(["queue", "order", "--json"]);
    assert_eq!(json(&run(c).await)["order"], "added");
    let mut c = ferry(&home);
    c.args(["queue", "order", "biggest"]);
    let out = run(c).await;
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("`added` or `small-first`"), "{err}");
    let mut c = ferry(&home);
    c.args(["queue", "order", "small-first"]);
    let out = run(c).await;
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "small-first");

    let mut c = ferry(&home);
    c.args(["queue", "top", &ids[2].to_string(), &ids[0].to_string()]);
    let out = run(c).await;
    assert!(String::from_utf8_lossy(&out.stdout).contains("moved to the top 2 job(s)"));
    let mut c = ferry(&home);
    c.args(["queue", "top", "424242"]);
    let out = run(c).await;
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no job 424242"));
    let mut c = ferry(&home);
    c.args(["queue", "list", "--json"]);
    let list = json(&run(c).await);
    let prio = |id: i64| {
        list.as_array()
            .unwrap()
            .iter()
            .find(|j| j["id"] == id)
            .unwrap()["priority"]
            .as_i64()
            .unwrap()
    };
    assert!(prio(ids[2]) > prio(ids[0]) && prio(ids[0]) > 0 && prio(ids[1]) == 0);

    let mut c = ferry(&home);
    c.args(["queue", "run", "--concurrency", "1"])
        .env("K", ferry_fakes::SYNPOSTER_KEY);
    let out = run(c).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The library lists newest first: reversed, the order they were sent in.
    let mut c = ferry(&home);
    c.args(["library", "--json"]);
    let lib = json(&run(c).await);
    let mut sent: Vec<i64> = lib
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["job_id"].as_i64().unwrap())
        .collect();
    sent.reverse();
    assert_eq!(sent, vec![ids[2], ids[0], ids[1], ids[3]]);
}

/// `host:port` and path of a fake's base URL (`http://127.0.0.1:PORT/api/v1`).
#[cfg(target_os = "linux")]
fn split_base(url: &str) -> (std::net::SocketAddr, String) {
    let rest = url.strip_prefix("http://").unwrap();
    let (addr, path) = rest.split_once('/').unwrap_or((rest, ""));
    (addr.parse().unwrap(), format!("/{path}"))
}

/// Poll `ferry queue list --json` (at most `secs`) until the first job matches.
#[cfg(target_os = "linux")]
async fn wait_job(home: &Path, secs: u64, what: &str, ok: impl Fn(&Value) -> bool) -> Value {
    let end = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    loop {
        let mut c = ferry(home);
        c.args(["queue", "list", "--all", "--json"]);
        let list = json(&run(c).await);
        if list.get(0).is_some_and(&ok) {
            return list[0].clone();
        }
        assert!(std::time::Instant::now() < end, "{what}: {list}");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}

/// The network goes away (the destination's port closes and NetworkManager, a stand-in
/// on a private system bus, says disconnected) and comes back on the same port.
#[cfg(target_os = "linux")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upload_waits_offline_without_using_attempts_and_finishes_once_the_network_returns() {
    let f = Fakes::start(Options::default()).await;
    let (upstream, path) = split_base(&f.synposter.api_url());
    let proxy = ferry_fakes::proxy::Proxy::start(upstream).await;
    let port = proxy.port;
    let bus = ferry_fakes::sysbus::SystemBus::start();
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let mut c = ferry(&home);
    c.args(["account", "add", "sp", "synposter"])
        .arg(format!("api_url={}{path}", proxy.url()))
        .args(["--secret-env", "K"]);
    assert!(run(c).await.status.success());
    proxy.stop().await;
    bus.set("nm_state", 20.into());

    let p = png(dir.path(), "a.png", 500);
    let upload = std::process::Command::new(assert_cmd::cargo::cargo_bin("ferry"))
        .arg("--home")
        .arg(&home)
        .env_remove("FERRY_HOME")
        .args(["upload", "--to", "sp", "--json"])
        .arg(&p)
        .env("K", ferry_fakes::SYNPOSTER_KEY)
        .env("DBUS_SYSTEM_BUS_ADDRESS", &bus.address)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let job = wait_job(&home, 30, "the job waits as offline", |j| {
        j["status"] == "waiting_retry" && j["error"]["code"] == "network.offline"
    })
    .await;
    assert_eq!(job["attempts"], 0, "being offline used no attempt: {job}");
    let mut c = ferry(&home);
    c.args(["queue", "list"]);
    let text = String::from_utf8_lossy(&run(c).await.stdout).into_owned();
    assert!(
        text.contains("held: Offline — waiting for the network"),
        "{text}"
    );
    assert!(text.contains("\toffline\t"), "{text}");
    // Several probes go by while it is down; still waiting, still no attempt used.
    tokio::time::sleep(std::time::Duration::from_secs(4)).await;
    let job = wait_job(&home, 1, "still offline", |j| {
        j["status"] == "waiting_retry"
    })
    .await;
    assert_eq!(job["attempts"], 0, "{job}");

    let _back = ferry_fakes::proxy::Proxy::start_on(port, upstream).await;
    bus.set("nm_state", 70.into());
    let out = tokio::task::spawn_blocking(move || upload.wait_with_output().unwrap())
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let job = wait_job(&home, 5, "done", |j| j["status"] == "succeeded").await;
    assert_eq!(job["attempts"], 1, "sent once: {job}");
    assert_eq!(f.synposter.objects().len(), 1);
    let mut c = ferry(&home);
    c.args(["queue", "list"]);
    let text = String::from_utf8_lossy(&run(c).await.stdout).into_owned();
    assert!(!text.contains("held:"), "{text}");
}

/// A destination that is down while the machine is online is not "offline": the job
/// fails as before, for a person to retry.
#[cfg(target_os = "linux")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_is_down_while_the_machine_is_online_fails_the_job_as_before() {
    let f = Fakes::start(Options::default()).await;
    let (upstream, path) = split_base(&f.synposter.api_url());
    let proxy = ferry_fakes::proxy::Proxy::start(upstream).await;
    let bus = ferry_fakes::sysbus::SystemBus::start();
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let mut c = ferry(&home);
    c.args(["account", "add", "sp", "synposter"])
        .arg(format!("api_url={}{path}", proxy.url()))
        .args(["--secret-env", "K"]);
    assert!(run(c).await.status.success());
    proxy.stop().await;
    let p = png(dir.path(), "a.png", 500);
    let mut c = ferry(&home);
    c.args(["upload", "--to", "sp", "--json"])
        .arg(&p)
        .env("K", ferry_fakes::SYNPOSTER_KEY)
        .env("DBUS_SYSTEM_BUS_ADDRESS", &bus.address);
    let out = run(c).await;
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(json(&out)[0]["error"]["code"], "network.connect");
}

/// `ferry upload` keeps the machine awake while it sends: logind (a stand-in on a
/// private system bus) sees a sleep inhibitor from Ferry until the upload is done.
#[cfg(target_os = "linux")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upload_holds_a_sleep_inhibitor_while_it_sends() {
    let f = Fakes::start(Options::default()).await;
    let bus = ferry_fakes::sysbus::SystemBus::start();
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    add_synposter(&home, &f).await;
    f.synposter.push_fault(
        Fault::new(
            "/storage/",
            FaultKind::Delay(std::time::Duration::from_secs(3)),
        )
        .method("PUT"),
    );
    let p = png(dir.path(), "a.png", 5000);
    let upload = std::process::Command::new(assert_cmd::cargo::cargo_bin("ferry"))
        .arg("--home")
        .arg(&home)
        .env_remove("FERRY_HOME")
        .args(["upload", "--to", "sp", "--json"])
        .arg(&p)
        .env("K", ferry_fakes::SYNPOSTER_KEY)
        .env("DBUS_SYSTEM_BUS_ADDRESS", &bus.address)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let held = tokio::task::block_in_place(|| {
        bus.wait_for(std::time::Duration::from_secs(20), |b| {
            b.inhibitors_held() == 1
        })
    });
    assert!(held, "an inhibitor while sending: {:?}", bus.events());
    assert_eq!(bus.events()[0]["who"], "Ferry");
    let out = tokio::task::spawn_blocking(move || upload.wait_with_output().unwrap())
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let released = tokio::task::block_in_place(|| {
        bus.wait_for(std::time::Duration::from_secs(5), |b| {
            b.inhibitors_held() == 0
        })
    });
    assert!(released, "{:?}", bus.events());
    assert_eq!(f.synposter.objects().len(), 1);
}

/// With `pause_on_battery` in config.toml, `ferry upload` on battery (UPower, a stand-in
/// on a private system bus) waits, says why in `queue list`, and sends once the machine
/// is on mains power again.
#[cfg(target_os = "linux")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_battery_with_pause_on_battery_an_upload_waits_and_sends_on_mains_power() {
    let f = Fakes::start(Options::default()).await;
    let bus = ferry_fakes::sysbus::SystemBus::start();
    bus.set("on_battery", true.into());
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    add_synposter(&home, &f).await;
    let config = home.join("config.toml");
    let text = std::fs::read_to_string(&config).unwrap();
    assert!(text.contains("pause_on_battery = false\n"), "{text}");
    std::fs::write(
        &config,
        text.replace("pause_on_battery = false\n", "pause_on_battery = true\n"),
    )
    .unwrap();
    let p = png(dir.path(), "a.png", 500);
    let upload = std::process::Command::new(assert_cmd::cargo::cargo_bin("ferry"))
        .arg("--home")
        .arg(&home)
        .env_remove("FERRY_HOME")
        .args(["upload", "--to", "sp", "--json"])
        .arg(&p)
        .env("K", ferry_fakes::SYNPOSTER_KEY)
        .env("DBUS_SYSTEM_BUS_ADDRESS", &bus.address)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let end = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let text = loop {
        let mut c = ferry(&home);
        c.args(["queue", "list"]);
        let text = String::from_utf8_lossy(&run(c).await.stdout).into_owned();
        if text.contains("held:") {
            break text;
        }
        assert!(std::time::Instant::now() < end, "{text}");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    };
    assert!(
        text.contains("held: Paused on battery power — sending resumes when plugged in"),
        "{text}"
    );
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    let job = wait_job(&home, 1, "still waiting", |j| j["status"] == "queued").await;
    assert_eq!(job["attempts"], 0, "{job}");
    assert!(f.synposter.objects().is_empty());
    bus.set("on_battery", false.into());
    let out = tokio::task::spawn_blocking(move || upload.wait_with_output().unwrap())
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(json(&out)[0]["ok"], true);
    assert_eq!(f.synposter.objects().len(), 1);
}
