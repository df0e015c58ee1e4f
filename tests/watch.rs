//! Watch folders through the app: add, pause, resume, remove, and the background runner
//! taking a new file from a watched folder.

use serde_json::json;

use crate::support::{png, TestApp};

#[test]
fn a_watched_folder_is_listed_paused_resumed_and_removed() {
    let t = TestApp::new();
    let dir = tempfile::tempdir().unwrap();
    let list = t.ok(
        "watch_add",
        json!({ "dir": dir.path(), "account": "library" }),
    );
    let rule = &list[0];
    assert_eq!(rule["id"], "w1");
    assert_eq!(rule["account"], "library");
    assert_eq!(rule["dir"], dir.path().to_str().unwrap());
    assert!(rule["state"].is_string() && rule["waiting"].is_number());
    // Once the background runner has started the rule, the list is stable.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while t.ok("watch_list", json!({}))[0]["state"] != "watching" {
        assert!(
            std::time::Instant::now() < deadline,
            "the rule never started"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert_eq!(t.ok("watch_list", json!({})), t.ok("watch_list", json!({})));
    let list = t.ok("watch_pause", json!({ "id": "w1" }));
    assert_eq!(list[0]["state"], "paused");
    assert_eq!(list[0]["paused"], true);
    let list = t.ok("watch_resume", json!({ "id": "w1" }));
    assert_eq!(list[0]["paused"], false);
    assert_eq!(t.ok("watch_remove", json!({ "id": "w1" })), json!([]));
}

#[test]
fn a_file_written_into_a_watched_folder_is_uploaded_by_the_background_runner() {
    let t = TestApp::new();
    let dir = tempfile::tempdir().unwrap();
    t.ok(
        "watch_add",
        json!({ "dir": dir.path(), "account": "library" }),
    );
    png(dir.path(), "new.png", 8, 8);
    let jobs = t.wait_jobs(30, |j| {
        j.iter()
            .any(|j| j["name"] == "new.png" && j["status"] == "succeeded")
    });
    assert_eq!(jobs[0]["origin"], "watch:w1");
}

#[test]
fn a_folder_is_watched_with_the_options_chosen_in_the_form() {
    let t = TestApp::new();
    let dir = tempfile::tempdir().unwrap();
    // A file already there is taken because the form said "import".
    png(dir.path(), "already-here.png", 8, 8);
    let list = t.ok(
        "watch_add",
        json!({ "dir": dir.path(), "account": "library", "options": {
            "recursive": true, "include": [" *.png ", ""], "exclude": ["draft-*"],
            "settleSecs": 0.5, "existing": "import", "after": "move:sent" } }),
    );
    let rule = &list[0];
    assert_eq!(rule["recursive"], true);
    assert_eq!(rule["include"], json!(["*.png"]));
    assert_eq!(rule["exclude"], json!(["draft-*"]));
    assert_eq!(rule["settle_secs"], 0.5);
    assert_eq!(rule["existing"], "import");
    assert_eq!(rule["after"], json!({ "action": "move", "dir": "sent" }));
    t.wait_jobs(30, |j| {
        j.iter()
            .any(|j| j["name"] == "already-here.png" && j["status"] == "succeeded")
    });
    // Moved into the subfolder only once uploaded (the runner does it after success).
    let moved = dir.path().join("sent/already-here.png");
    for _ in 0..100 {
        if moved.exists() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert!(moved.exists(), "the uploaded file was not moved into sent/");
    assert!(!dir.path().join("already-here.png").exists());
}

#[test]
fn watch_options_are_checked_and_name_the_bad_value() {
    let t = TestApp::new();
    let dir = tempfile::tempdir().unwrap();
    let add = |options: serde_json::Value| {
        t.err(
            "watch_add",
            json!({ "dir": dir.path(), "account": "library", "options": options }),
        )
    };
    let (code, msg) = add(json!({ "existing": "all" }));
    assert_eq!(code, "config.invalid");
    assert!(
        msg.contains("`all`") && msg.contains("skip, import"),
        "{msg}"
    );
    let (code, msg) = add(json!({ "settleSecs": -1 }));
    assert_eq!(code, "config.invalid");
    assert!(msg.contains("quiet time"), "{msg}");
    assert_eq!(add(json!({ "after": "move:../out" })).0, "config.invalid");
    assert_eq!(add(json!({ "after": "shred" })).0, "config.invalid");
    assert_eq!(add(json!({ "include": ["[unclosed"] })).0, "config.invalid");
    // Nothing was added by the refused calls.
    assert_eq!(t.ok("watch_list", json!({})), json!([]));
}

#[test]
fn watch_errors_carry_codes() {
    let t = TestApp::new();
    let dir = tempfile::tempdir().unwrap();
    let add = |d: serde_json::Value, a: &str| t.err("watch_add", json!({ "dir": d, "account": a }));
    assert_eq!(
        add(json!(dir.path().join("missing")), "library").0,
        "input.not_found"
    );
    assert_eq!(add(json!("relative/dir"), "library").0, "input.invalid");
    assert_eq!(add(json!(dir.path()), "nope").0, "config.unknown_account");
    for cmd in ["watch_pause", "watch_resume", "watch_remove"] {
        assert_eq!(
            t.err(cmd, json!({ "id": "w9" })).0,
            "config.invalid",
            "{cmd}"
        );
    }
}
