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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_jobs_are_listed_retried_and_finish_with_queue_run() {
    let f = Fakes::start(Options::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let mut c = ferry(&home);
    c.args(["account", "add", "sp", "synposter"])
        .arg(format!("api_url={}", f.synposter.api_url()))
        .args(["--secret-env", "K"]);
    assert!(run(c).await.status.success());
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
    let mut c = ferry(&home);
    c.args(["account", "add", "sp", "synposter"])
        .arg(format!("api_url={}", f.synposter.api_url()))
        .args(["--secret-env", "K"]);
    assert!(run(c).await.status.success());
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
