//! Crash safety with the real binary: `ferry upload` of a large file is killed with
//! SIGKILL midway, then `ferry queue run` finishes it. The remote object must be
//! byte-identical, the library must hold exactly one row, and for S3 (multipart, resumed
//! from the journal) less than 20% of the file may be sent twice.

mod common;

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::{big_file, ferry, files_in, library_rows, MIB};
#[cfg(not(windows))]
use ferry_fakes::proxy::Proxy;
#[cfg(not(windows))]
use ferry_fakes::s3s::{S3Server, ACCESS_KEY, SECRET_KEY};
use ferry_fakes::{Fakes, Options};

const SIZE: u64 = 256 * MIB;

#[cfg(not(windows))] // only the S3 case compares an object's bytes
fn same_bytes(a: &Path, b: &[u8]) -> bool {
    std::fs::read(a).unwrap() == b
}

/// Kill the child once `cond` holds (bounded wait). `log` is where its stderr goes.
fn kill_when(child: &mut std::process::Child, log: &Path, what: &str, cond: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(120);
    while !cond() {
        if let Ok(Some(status)) = child.try_wait() {
            let err = std::fs::read_to_string(log).unwrap_or_default();
            panic!("ferry ended ({status}) before {what}:\n{err}");
        }
        if Instant::now() > deadline {
            // Never leave the child running past its test.
            let _ = child.kill();
            let _ = child.wait();
            panic!("timed out waiting for {what}");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().unwrap(); // SIGKILL: no cleanup runs
    child.wait().unwrap();
}

#[cfg(not(windows))] // s3s-fs (a Linux program) cannot be started under Wine
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_upload_killed_midway_resumes_with_little_sent_twice() {
    let server = S3Server::start("media");
    let proxy = Proxy::start(([127, 0, 0, 1], server.port).into()).await;
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let file = big_file(dir.path(), "big.mp4", SIZE);
    let out = ferry(&home)
        .args([
            "account",
            "add",
            "s3",
            "s3",
            "bucket=media",
            "path_style=true",
            "prefix=ferry/",
        ])
        .arg(format!("endpoint={}", proxy.url()))
        .arg(format!("access_key_id={ACCESS_KEY}"))
        .args(["--secret-env", "FERRY_TEST_S3_SECRET"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    proxy.set_throttle(64 * MIB);
    let log = dir.path().join("upload.log");
    let mut child = ferry(&home)
        .args(["-v", "upload", "--to", "s3", "--json"])
        .arg(&file)
        .env("FERRY_TEST_S3_SECRET", SECRET_KEY)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let p = proxy.clone();
    tokio::task::spawn_blocking(move || {
        kill_when(&mut child, &log, "half the file was sent", || {
            p.up_bytes() >= SIZE / 2
        });
    })
    .await
    .unwrap();
    let first = proxy.up_bytes();
    proxy.set_throttle(0);

    let out = tokio::task::spawn_blocking({
        let home = home.clone();
        move || {
            ferry(&home)
                .args(["queue", "run"])
                .env("FERRY_TEST_S3_SECRET", SECRET_KEY)
                .output()
                .unwrap()
        }
    })
    .await
    .unwrap();
    assert!(
        out.status.success(),
        "queue run: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let total = proxy.up_bytes();
    let resent = total.saturating_sub(SIZE);
    assert!(
        resent * 100 < SIZE * 20,
        "re-sent {} MiB of {} MiB (first run sent {} MiB)",
        resent / MIB,
        SIZE / MIB,
        first / MIB
    );
    let rows = library_rows(&home);
    assert_eq!(rows.len(), 1, "{rows:?}");
    let key = rows[0]["remote_id"].as_str().unwrap();
    let original = std::fs::read(&file).unwrap();
    assert!(
        same_bytes(&server.object_path("media", key), &original),
        "byte-identical"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn presigned_put_killed_midway_is_sent_again_whole() {
    let fakes = Fakes::start(Options::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let file = big_file(dir.path(), "big.mp4", SIZE);
    let out = ferry(&home)
        .args(["account", "add", "ss", "socialsyncer"])
        .arg(format!("api_url={}", fakes.socialsyncer.api_url()))
        .args(["--secret-env", "FERRY_TEST_SS_KEY"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let mut child = ferry(&home)
        .args(["-v", "upload", "--to", "ss", "--json"])
        .arg(&file)
        .env("FERRY_TEST_SS_KEY", ferry_fakes::SOCIALSYNCER_KEY)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.path().join("upload.log")).unwrap())
        .spawn()
        .unwrap();
    let fake = fakes.socialsyncer.clone();
    let log = dir.path().join("upload.log");
    tokio::task::spawn_blocking(move || {
        kill_when(&mut child, &log, "the PUT was under way", || {
            fake.requests()
                .iter()
                .any(|r| r.method == "PUT" && r.body_len >= 32 * MIB)
        });
    })
    .await
    .unwrap();
    assert!(
        fakes.socialsyncer.objects().is_empty(),
        "a cut PUT stores nothing"
    );

    let out = tokio::task::spawn_blocking({
        let home = home.clone();
        move || {
            ferry(&home)
                .args(["queue", "run"])
                .env("FERRY_TEST_SS_KEY", ferry_fakes::SOCIALSYNCER_KEY)
                .output()
                .unwrap()
        }
    })
    .await
    .unwrap();
    assert!(
        out.status.success(),
        "queue run: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let objs = fakes.socialsyncer.objects();
    assert_eq!(objs.len(), 1);
    assert!(
        objs[0].bytes == std::fs::read(&file).unwrap(),
        "byte-identical"
    );
    assert_eq!(library_rows(&home).len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_between_placing_a_file_and_recording_it_leaves_one_file_and_one_row() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let file = dir.path().join("shot.png");
    std::fs::write(&file, b"\x89PNG\r\n\x1a\nthe worst instant").unwrap();
    let log = dir.path().join("upload.log");
    let mut child = ferry(&home)
        .args(["-v", "upload", "--json"])
        .arg(&file)
        // The provider has placed the file; the library row is not written yet.
        .env("FERRY_TEST_HOLD_BEFORE_RECORD_MS", "60000")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let lib = home.join("library");
    let l = lib.clone();
    tokio::task::spawn_blocking(move || {
        kill_when(&mut child, &log, "the file was placed", || {
            files_in(&l).iter().any(|n| n == "shot.png")
        });
    })
    .await
    .unwrap();
    assert!(library_rows(&home).is_empty(), "killed before the row");
    let out = ferry(&home).args(["queue", "run"]).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        files_in(&lib),
        vec!["shot.png".to_string()],
        "one file, no ` (2)`"
    );
    assert_eq!(library_rows(&home).len(), 1, "one row");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_while_postsyncer_has_stored_the_upload_but_not_answered_leaves_one_copy() {
    let fakes = Fakes::start(Options::default()).await;
    fakes.postsyncer.push_fault(ferry_fakes::Fault::new(
        "/media/upload/file",
        ferry_fakes::FaultKind::StoreThenStall,
    ));
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let out = ferry(&home)
        .args(["account", "add", "ps", "postsyncer", "workspace_id=7"])
        .arg(format!("api_url={}", fakes.postsyncer.api_url()))
        .arg(format!(
            "upload_url={}",
            fakes.postsyncer.upload_url().unwrap()
        ))
        .args(["--secret-env", "FERRY_TEST_PS_TOKEN"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let file = dir.path().join("post.png");
    std::fs::write(&file, b"\x89PNG\r\n\x1a\nstored, then silence").unwrap();
    let log = dir.path().join("upload.log");
    let mut child = ferry(&home)
        .args(["-v", "upload", "--to", "ps", "--json"])
        .arg(&file)
        .env("FERRY_TEST_PS_TOKEN", ferry_fakes::POSTSYNCER_TOKEN)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let fake = fakes.postsyncer.clone();
    tokio::task::spawn_blocking(move || {
        kill_when(&mut child, &log, "PostSyncer stored the upload", || {
            fake.objects().len() == 1
        });
    })
    .await
    .unwrap();
    let out = tokio::task::spawn_blocking({
        let home = home.clone();
        move || {
            ferry(&home)
                .args(["queue", "run"])
                .env("FERRY_TEST_PS_TOKEN", ferry_fakes::POSTSYNCER_TOKEN)
                .output()
                .unwrap()
        }
    })
    .await
    .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        fakes.postsyncer.objects().len(),
        1,
        "exactly one remote object"
    );
    assert_eq!(library_rows(&home).len(), 1, "one library row");
}
