//! `ferry watch …` from the command line: add, list (with live state while `watch run`
//! runs), pause, remove; `watch run` uploads a new file and stops on SIGTERM.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn ferry(home: &Path) -> Command {
    let mut c = Command::new(assert_cmd::cargo::cargo_bin("ferry"));
    c.arg("--home").arg(home).env_remove("FERRY_HOME");
    c
}

fn list(home: &Path) -> serde_json::Value {
    let out = ferry(home)
        .args(["watch", "list", "--json"])
        .output()
        .unwrap();
    assert!(out.status.success());
    serde_json::from_slice(&out.stdout).unwrap()
}

fn wait_for(what: &str, cond: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn watch_run_uploads_new_files_and_list_shows_the_rule_live() {
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path().join("home");
    let dir = tmp.path().join("photos");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("old.png"), b"\x89PNG\r\n\x1a\nold").unwrap();

    let out = ferry(&home)
        .args(["watch", "add"])
        .arg(&dir)
        .args(["--settle", "0.5", "--exclude", "*.raw", "--after", "keep"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("as w1"));
    let rules = list(&home);
    assert_eq!(rules[0]["id"], "w1");
    assert_eq!(rules[0]["state"], "not running");
    assert_eq!(rules[0]["account"], "library");

    let mut run = ferry(&home)
        .args(["watch", "run"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_for("watching", || list(&home)[0]["state"] == "watching");
    std::fs::write(dir.join("new.png"), b"\x89PNG\r\n\x1a\nnew").unwrap();
    std::fs::write(dir.join("skip.raw"), b"raw").unwrap();
    let lib = || {
        let out = ferry(&home).args(["library", "--json"]).output().unwrap();
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()
    };
    wait_for("the upload", || {
        lib().as_array().is_some_and(|a| a.len() == 1)
    });
    assert_eq!(
        lib()[0]["name"],
        "new.png",
        "old files skipped, excluded ones never taken"
    );

    // SIGTERM stops it cleanly.
    #[cfg(unix)]
    {
        Command::new("kill")
            .arg(run.id().to_string())
            .status()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        let status = loop {
            if let Some(s) = run.try_wait().unwrap() {
                break s;
            }
            assert!(Instant::now() < deadline, "watch run did not stop");
            std::thread::sleep(Duration::from_millis(50));
        };
        assert!(status.success());
    }
    // Windows has no SIGTERM, and a test cannot send its console a Ctrl-C: end it.
    #[cfg(windows)]
    {
        run.kill().unwrap();
        run.wait().unwrap();
    }

    assert!(ferry(&home)
        .args(["watch", "pause", "w1"])
        .status()
        .unwrap()
        .success());
    assert_eq!(list(&home)[0]["state"], "paused");
    let bad = ferry(&home)
        .args(["watch", "add"])
        .arg(&dir)
        .args(["--after", "move:../x"])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
    assert!(ferry(&home)
        .args(["watch", "remove", "w1"])
        .status()
        .unwrap()
        .success());
    assert_eq!(list(&home).as_array().unwrap().len(), 0);
    assert_eq!(
        ferry(&home)
            .args(["watch", "remove", "w1"])
            .status()
            .unwrap()
            .code(),
        Some(2)
    );
}

#[test]
fn watch_add_to_several_destinations_keeps_them_and_refuses_an_unknown_one() {
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path().join("home");
    let dir = tmp.path().join("photos");
    std::fs::create_dir_all(&dir).unwrap();
    let added = ferry(&home)
        .args(["account", "add", "archive", "local"])
        .arg(format!("dir={}", tmp.path().join("archive").display()))
        .output()
        .unwrap();
    assert!(
        added.status.success(),
        "{}",
        String::from_utf8_lossy(&added.stderr)
    );
    let bad = ferry(&home)
        .args(["watch", "add"])
        .arg(&dir)
        .args(["--to", "library,nope"])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("nope"));
    let out = ferry(&home)
        .args(["watch", "add"])
        .arg(&dir)
        .args(["--to", "library", "--to", "archive", "--after", "move:done"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("for `library`, `archive` as w1"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let rules = list(&home);
    assert_eq!(rules[0]["account"], "library");
    assert_eq!(rules[0]["also"], serde_json::json!(["archive"]));
    let config = std::fs::read_to_string(home.join("config.toml")).unwrap();
    assert!(config.contains("also = [\"archive\"]"), "{config}");
}
