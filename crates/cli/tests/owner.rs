//! One home, one runner, with the real binary: a stop (SIGTERM) interrupts and the next
//! start resumes; a second runner is refused or waits; `ferry upload` beside a running
//! owner becomes its client (same output), and takes over if the owner is killed;
//! config changes from another process reach the running owner.

#![cfg(unix)] // SIGTERM and SIGKILL of child processes

mod common;

use std::path::Path;
use std::process::Stdio;

use common::*;
use ferry_fakes::proxy::Proxy;
use ferry_fakes::s3s::{S3Server, ACCESS_KEY, SECRET_KEY};

const SECRET_VAR: &str = "FERRY_TEST_S3_SECRET";

/// `ferry account add ARGS… --secret-env FERRY_TEST_S3_SECRET`, which must succeed.
fn account_add(home: &Path, args: &[&str]) {
    let out = ferry(home)
        .args(["account", "add"])
        .args(args)
        .args(["--secret-env", SECRET_VAR])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn add_s3(home: &Path, endpoint: &str) {
    account_add(
        home,
        &[
            "s3",
            "s3",
            "bucket=media",
            "path_style=true",
            "prefix=ferry/",
            &format!("endpoint={endpoint}"),
            &format!("access_key_id={ACCESS_KEY}"),
        ],
    );
}

fn watch_add(home: &Path, dir: &Path, extra: &[&str]) {
    let out = ferry(home)
        .args(["watch", "add"])
        .arg(dir)
        .args(["--settle", "0.3"])
        .args(extra)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `ferry watch run` in the background, its stderr in `log`.
fn watch_run(home: &Path, log: &Path, args: &[&str]) -> std::process::Child {
    ferry(home)
        .args(["-v", "watch", "run"])
        .args(args)
        .env(SECRET_VAR, SECRET_KEY)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(log).unwrap())
        .spawn()
        .unwrap()
}

fn png(i: usize) -> Vec<u8> {
    let mut b = b"\x89PNG\r\n\x1a\n".to_vec();
    b.extend(format!("picture number {i}").bytes());
    b
}

fn log_of(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_to_watch_run_interrupts_and_the_next_start_resumes_the_s3_upload() {
    const SIZE: u64 = 1024 * MIB;
    let server = S3Server::start("media");
    let proxy = Proxy::start(([127, 0, 0, 1], server.port).into()).await;
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path().join("home");
    let photos = tmp.path().join("photos");
    std::fs::create_dir_all(&photos).unwrap();
    add_s3(&home, &proxy.url());
    watch_add(&home, &photos, &["--to", "s3"]);
    // Written elsewhere, then renamed in: the rule sees one finished file.
    let file = big_file(tmp.path(), "film.mp4", SIZE);
    proxy.set_throttle(128 * MIB);

    let log = tmp.path().join("run1.log");
    let mut run = Reap(watch_run(&home, &log, &[]));
    std::fs::rename(&file, photos.join("film.mp4")).unwrap();
    let file = photos.join("film.mp4");
    let p = proxy.clone();
    wait_for(
        "40% of the file sent",
        120,
        Some((&mut run.0, &log)),
        || p.up_bytes() >= SIZE * 2 / 5,
    );
    let status = terminate(&mut run.0);
    assert!(
        status.success(),
        "watch run exits cleanly on SIGTERM: {status}\n{}",
        log_of(&log)
    );
    let first = proxy.up_bytes();

    // Interrupted, not cancelled: the job waits in the queue with its resume state.
    let jobs = jobs(&home);
    assert_eq!(jobs.len(), 1, "{jobs:?}");
    assert_eq!(
        jobs[0]["status"],
        "queued",
        "{:?}\n{}",
        jobs[0],
        log_of(&log)
    );
    assert!(library_rows(&home).is_empty());

    proxy.set_throttle(0);
    let log2 = tmp.path().join("run2.log");
    let mut run = Reap(watch_run(&home, &log2, &[]));
    let h = home.clone();
    wait_for(
        "the upload to finish after the restart",
        180,
        Some((&mut run.0, &log2)),
        || library_rows(&h).len() == 1,
    );
    assert!(terminate(&mut run.0).success());
    let resent = proxy.up_bytes().saturating_sub(SIZE);
    assert!(
        resent * 100 < SIZE * 20,
        "re-sent {} MiB of {} MiB (first run sent {} MiB)",
        resent / MIB,
        SIZE / MIB,
        first / MIB
    );
    let rows = library_rows(&home);
    assert_eq!(rows.len(), 1, "exactly once: {rows:?}");
    let key = rows[0]["remote_id"].as_str().unwrap();
    assert!(
        same_content(&server.object_path("media", key), &file),
        "byte-identical"
    );
    let jobs = common::jobs(&home);
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0]["status"], "succeeded");
}

#[test]
fn a_second_runner_is_refused_naming_the_first_or_waits_for_it() {
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path().join("home");
    let log = tmp.path().join("run.log");
    let mut first = Reap(watch_run(&home, &log, &[]));
    let h = home.clone();
    wait_for("the first runner to take the home", 20, None, || {
        h.join("runner.json").exists()
    });
    for cmd in [&["watch", "run"][..], &["queue", "run"][..]] {
        let out = ferry(&home).args(cmd).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{cmd:?}: {err}");
        assert!(err.contains("ferry watch run"), "names the program: {err}");
        assert!(
            err.contains(&format!("pid {}", first.0.id())),
            "names the pid: {err}"
        );
        assert!(err.contains("home.in_use"), "{err}");
    }
    let out = ferry(&home).args(["queue", "list"]).output().unwrap();
    assert!(
        String::from_utf8_lossy(&out.stdout)
            .contains(&format!("sending: ferry watch run (pid {})", first.0.id())),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );

    // --wait-for-lock waits, then takes over when the first ends.
    let log2 = tmp.path().join("run2.log");
    let mut second = Reap(watch_run(&home, &log2, &["--wait-for-lock"]));
    std::thread::sleep(std::time::Duration::from_millis(800));
    assert!(
        second.0.try_wait().unwrap().is_none(),
        "still waiting: {}",
        log_of(&log2)
    );
    assert!(
        log_of(&log2).contains("waiting for ferry watch run"),
        "{}",
        log_of(&log2)
    );
    assert!(terminate(&mut first.0).success());
    let (h, pid) = (home.clone(), second.0.id());
    wait_for("the second runner to take over", 20, None, || {
        std::fs::read_to_string(h.join("runner.json"))
            .is_ok_and(|t| t.contains(&format!("\"pid\": {pid}")))
    });
    assert!(terminate(&mut second.0).success());
}

#[test]
fn upload_beside_a_running_watch_run_sends_every_file_exactly_once() {
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path().join("home");
    let photos = tmp.path().join("photos");
    let staging = tmp.path().join("staging");
    std::fs::create_dir_all(&photos).unwrap();
    std::fs::create_dir_all(&staging).unwrap();
    watch_add(&home, &photos, &[]);
    let log = tmp.path().join("run.log");
    let mut owner = Reap(watch_run(&home, &log, &[]));
    let h = home.clone();
    wait_for("the rule to be watching", 20, None, || {
        json(&h, &["watch", "list", "--json"])[0]["state"] == "watching"
    });

    // The same five files land in the watched folder and are uploaded from a terminal
    // at the same moment.
    let n = 5;
    for i in 0..n {
        std::fs::write(staging.join(format!("p{i}.png")), png(i)).unwrap();
    }
    for i in 0..n {
        std::fs::rename(
            staging.join(format!("p{i}.png")),
            photos.join(format!("p{i}.png")),
        )
        .unwrap();
    }
    let out = ferry(&home)
        .args(["upload", "--json"])
        .args((0..n).map(|i| photos.join(format!("p{i}.png"))))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "{err}\n{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let results: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(results.as_array().unwrap().len(), n);
    for r in results.as_array().unwrap() {
        assert_eq!(r["ok"], true, "{r}");
        assert!(
            r["media"][0]["url"]
                .as_str()
                .unwrap()
                .starts_with("file://"),
            "{r}"
        );
    }
    let h = home.clone();
    wait_for(
        "the watch rule's jobs to end",
        30,
        Some((&mut owner.0, &log)),
        || {
            let j = common::jobs(&h);
            j.len() == 2 * n && j.iter().all(|j| j["status"] == "succeeded")
        },
    );
    let lib = home.join("library");
    let files = files_in(&lib);
    assert_eq!(
        files.len(),
        n,
        "each file once in the library folder: {files:?}"
    );
    assert!(files.iter().all(|f| !f.contains(" (2)")), "{files:?}");
    assert_eq!(library_rows(&home).len(), n);
    assert!(terminate(&mut owner.0).success());
}

#[test]
fn changes_made_by_another_process_reach_the_running_owner() {
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path().join("home");
    let photos = tmp.path().join("photos");
    std::fs::create_dir_all(&photos).unwrap();
    let log = tmp.path().join("run.log");
    let mut owner = Reap(watch_run(&home, &log, &[]));
    // Give it a moment to start (what follows waits for behaviour, not for this).
    std::thread::sleep(std::time::Duration::from_millis(1500));

    // A rule and an account added from a terminal while the owner runs.
    let other_lib = tmp.path().join("other-lib");
    let out = ferry(&home)
        .args(["account", "add", "second", "local"])
        .arg(format!("dir={}", other_lib.display()))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    watch_add(&home, &photos, &["--to", "second"]);
    let h = home.clone();
    wait_for(
        "the owner to start the new rule",
        10,
        Some((&mut owner.0, &log)),
        || json(&h, &["watch", "list", "--json"])[0]["state"] == "watching",
    );
    std::fs::write(photos.join("a.png"), png(1)).unwrap();
    let h = home.clone();
    wait_for(
        "a.png uploaded to the new account",
        20,
        Some((&mut owner.0, &log)),
        || library_rows(&h).iter().any(|r| r["account"] == "second"),
    );

    // Paused from a terminal: the running rule stops taking files.
    let out = ferry(&home)
        .args(["watch", "pause", "w1"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let h = home.clone();
    wait_for("the rule to show paused", 10, None, || {
        json(&h, &["watch", "list", "--json"])[0]["state"] == "paused"
    });
    std::thread::sleep(std::time::Duration::from_millis(2500));
    std::fs::write(photos.join("b.png"), png(2)).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(2500));
    assert_eq!(library_rows(&home).len(), 1, "nothing taken while paused");
    let out = ferry(&home)
        .args(["watch", "resume", "w1"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let h = home.clone();
    wait_for(
        "b.png uploaded after resume",
        20,
        Some((&mut owner.0, &log)),
        || library_rows(&h).len() == 2,
    );
    // The owner never wrote back an old config: the account and rule are still there.
    let cfg = std::fs::read_to_string(home.join("config.toml")).unwrap();
    assert!(cfg.contains("[accounts.second]"), "{cfg}");
    assert!(terminate(&mut owner.0).success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upload_following_an_owner_that_is_killed_takes_over_and_finishes() {
    const SIZE: u64 = 256 * MIB;
    let server = S3Server::start("media");
    let proxy = Proxy::start(([127, 0, 0, 1], server.port).into()).await;
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path().join("home");
    add_s3(&home, &proxy.url());
    let file = big_file(tmp.path(), "clip.mp4", SIZE);
    proxy.set_throttle(64 * MIB);
    let log = tmp.path().join("owner.log");
    let mut owner = Reap(watch_run(&home, &log, &[]));
    // Give it a moment to start (what follows waits for behaviour, not for this).
    std::thread::sleep(std::time::Duration::from_millis(1500));

    let client_log = tmp.path().join("client.log");
    let client = ferry(&home)
        .args(["upload", "--to", "s3", "--json"])
        .arg(&file)
        .env(SECRET_VAR, SECRET_KEY)
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&client_log).unwrap())
        .spawn()
        .unwrap();
    let p = proxy.clone();
    wait_for(
        "the owner to send a third of the file",
        60,
        Some((&mut owner.0, &log)),
        || p.up_bytes() >= SIZE / 3,
    );
    owner.0.kill().unwrap(); // SIGKILL: the OS releases the lock, nothing else runs
    owner.0.wait().unwrap();
    proxy.set_throttle(0);
    let out = tokio::task::spawn_blocking(move || client.wait_with_output().unwrap())
        .await
        .unwrap();
    assert!(out.status.success(), "{}", log_of(&client_log));
    let results: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(results[0]["ok"], true, "{results}");
    let key = results[0]["media"][0]["id"].as_str().unwrap();
    assert!(
        same_content(&server.object_path("media", key), &file),
        "byte-identical"
    );
    assert_eq!(library_rows(&home).len(), 1);
    let resent = proxy.up_bytes().saturating_sub(SIZE);
    assert!(resent * 100 < SIZE * 20, "re-sent {} MiB", resent / MIB);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queue_pause_and_resume_from_a_terminal_reach_a_job_the_owner_is_sending() {
    const SIZE: u64 = 64 * MIB;
    let server = S3Server::start("media");
    let proxy = Proxy::start(([127, 0, 0, 1], server.port).into()).await;
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path().join("home");
    add_s3(&home, &proxy.url());
    let file = big_file(tmp.path(), "long.mp4", SIZE);
    proxy.set_throttle(8 * MIB);
    let log = tmp.path().join("owner.log");
    let mut owner = Reap(watch_run(&home, &log, &[]));
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let client = ferry(&home)
        .args(["upload", "--to", "s3", "--json"])
        .arg(&file)
        .env(SECRET_VAR, SECRET_KEY)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let h = home.clone();
    wait_for(
        "the owner to be sending",
        60,
        Some((&mut owner.0, &log)),
        || {
            common::jobs(&h)
                .first()
                .is_some_and(|j| j["bytesSent"].as_u64().unwrap_or(0) > 0)
        },
    );
    let out = ferry(&home).args(["queue", "pause", "1"]).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let h = home.clone();
    wait_for(
        "the owner to pause it",
        20,
        Some((&mut owner.0, &log)),
        || common::jobs(&h)[0]["status"] == "paused",
    );
    // The following `ferry upload` reports the pause as it would alone.
    let out = tokio::task::spawn_blocking(move || client.wait_with_output().unwrap())
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let results: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(results[0]["error"]["code"], "queue.paused", "{results}");
    proxy.set_throttle(0);
    let out = ferry(&home)
        .args(["queue", "resume", "1"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let h = home.clone();
    wait_for(
        "the owner to finish it",
        60,
        Some((&mut owner.0, &log)),
        || library_rows(&h).len() == 1,
    );
    let key = library_rows(&home)[0]["remote_id"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(same_content(&server.object_path("media", &key), &file));
    assert!(terminate(&mut owner.0).success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn files_landing_in_a_watched_folder_and_uploaded_from_a_terminal_at_once_reach_s3_once() {
    let server = S3Server::start("media");
    let proxy = Proxy::start(([127, 0, 0, 1], server.port).into()).await;
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path().join("home");
    let photos = tmp.path().join("photos");
    let staging = tmp.path().join("staging");
    std::fs::create_dir_all(&photos).unwrap();
    std::fs::create_dir_all(&staging).unwrap();
    add_s3(&home, &proxy.url());
    watch_add(&home, &photos, &["--to", "s3"]);
    let log = tmp.path().join("run.log");
    let mut owner = Reap(watch_run(&home, &log, &[]));
    let h = home.clone();
    wait_for("the rule to be watching", 20, None, || {
        json(&h, &["watch", "list", "--json"])[0]["state"] == "watching"
    });
    // Slow enough that both would be sending the same files at the same time.
    proxy.set_throttle(16 * MIB);
    let n = 4u64;
    let names: Vec<String> = (0..n).map(|i| format!("clip{i}.mp4")).collect();
    for (i, name) in names.iter().enumerate() {
        big_file(&staging, name, (8 + i as u64) * MIB);
        std::fs::rename(staging.join(name), photos.join(name)).unwrap();
    }
    let out = ferry(&home)
        .args(["upload", "--to", "s3", "--json"])
        .args(names.iter().map(|n| photos.join(n)))
        .env(SECRET_VAR, SECRET_KEY)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let h = home.clone();
    wait_for("every job to end", 120, Some((&mut owner.0, &log)), || {
        let j = common::jobs(&h);
        j.len() == 2 * n as usize && j.iter().all(|j| j["status"] == "succeeded")
    });
    let rows = library_rows(&home);
    assert_eq!(rows.len(), n as usize, "each file sent once: {rows:#?}");
    for (i, name) in names.iter().enumerate() {
        let row = rows.iter().find(|r| r["name"] == name.as_str()).unwrap();
        assert_eq!(row["size"], (8 + i as u64) * MIB);
        let key = row["remote_id"].as_str().unwrap();
        assert!(same_content(
            &server.object_path("media", key),
            &photos.join(name)
        ));
    }
    assert!(terminate(&mut owner.0).success());
}

/// A stop that comes between claiming a job and the job's task starting (a busy machine
/// starts the task late; `FERRY_TEST_HOLD_BEFORE_START_MS` makes that instant last) still
/// sends the job back to the queue: it was left `preparing`, sending into a destination
/// that never answers, until the process was killed.
#[test]
fn a_stop_just_after_a_job_is_claimed_sends_it_back_to_the_queue() {
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path().join("home");
    // Accepts connections and never answers.
    let hole = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let api_url = format!("api_url=http://{}", hole.local_addr().unwrap());
    account_add(&home, &["sp", "synposter", &api_url]);
    let file = tmp.path().join("late.png");
    std::fs::write(&file, png(1)).unwrap();
    let log = tmp.path().join("upload.log");
    let mut up = Reap(
        ferry(&home)
            .args(["-v", "upload", "--to", "sp"])
            .arg(&file)
            .env(SECRET_VAR, "sk_test")
            .env("FERRY_TEST_HOLD_BEFORE_START_MS", "1500")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap(),
    );
    let h = home.clone();
    wait_for("the job to be claimed", 20, Some((&mut up.0, &log)), || {
        common::jobs(&h)
            .first()
            .is_some_and(|j| j["status"] == "preparing")
    });
    terminate(&mut up.0);
    let jobs = common::jobs(&home);
    assert_eq!(
        jobs[0]["status"],
        "queued",
        "interrupted, not left running: {jobs:?}\n{}",
        log_of(&log)
    );
    assert_eq!(
        jobs[0]["attempts"], 0,
        "the attempt is given back: {jobs:?}"
    );
}
