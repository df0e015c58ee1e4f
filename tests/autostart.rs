//! Start at login on Linux: the Settings switch writes the XDG autostart entry
//! (`~/.config/autostart/Ferry.desktop`, through tauri-plugin-autostart) and removes it,
//! and reads the entry back as the truth. Each step runs in a child process of this test
//! binary with its own HOME, so no other test (and not the developer's desktop) sees a
//! changed HOME or a login item.

use std::path::Path;
use std::process::Command;

use serde_json::json;

use crate::support::TestApp;

/// Set in the child: which step to run (`get`, `on`, `off`).
const STEP: &str = "FERRY_TEST_AUTOSTART_STEP";

/// This test's own name: the child processes run it again, with [`STEP`] set.
const THIS_TEST: &str = "autostart::start_at_login_writes_and_removes_the_xdg_autostart_entry";

#[test]
fn start_at_login_writes_and_removes_the_xdg_autostart_entry() {
    if let Ok(step) = std::env::var(STEP) {
        // In a child: run one step in this process's own HOME and say what it answered.
        return run_step(&step);
    }
    let home = tempfile::tempdir().unwrap();
    let entry = home.path().join(".config/autostart/Ferry.desktop");

    assert_eq!(step(home.path(), "get"), "false", "off by default");
    assert!(!entry.exists());

    assert_eq!(step(home.path(), "on"), "true");
    let text = std::fs::read_to_string(&entry).expect("the autostart entry");
    let exe = std::env::current_exe().unwrap();
    assert!(text.contains("[Desktop Entry]"), "{text}");
    assert!(text.contains("Type=Application"), "{text}");
    assert!(text.contains("Name=Ferry"), "{text}");
    // The executable that made it (the installed one: /usr/bin/ferry-app), with the flag
    // that marks a start at login.
    assert!(
        text.contains(&format!("Exec={} --autostart", exe.display())),
        "{text}"
    );
    assert_eq!(step(home.path(), "get"), "true");

    assert_eq!(step(home.path(), "off"), "false");
    assert!(!entry.exists(), "the entry is removed");
    assert_eq!(
        step(home.path(), "off"),
        "false",
        "turning off twice is fine"
    );

    // Removed outside Ferry (the desktop's own startup settings): the switch reads off.
    assert_eq!(step(home.path(), "on"), "true");
    std::fs::remove_file(&entry).unwrap();
    assert_eq!(step(home.path(), "get"), "false");
}

/// Run one step in a child with HOME (and XDG_CONFIG_HOME, its default under it) in
/// `home`; returns what the command answered.
fn step(home: &Path, step: &str) -> String {
    let out = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", THIS_TEST, "--nocapture"])
        .args(["--test-threads", "1"])
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join(".config"))
        .env(STEP, step)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "step {step} failed: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // libtest prints `test autostart::… ... ` before the test's own output.
    stdout
        .lines()
        .find_map(|l| l.split_once("STEP=").map(|(_, v)| v.trim()))
        .unwrap_or_else(|| panic!("step {step} printed no answer: {stdout}"))
        .to_string()
}

/// One step, in a child process (see [`step`]).
fn run_step(step: &str) {
    let t = TestApp::new();
    let answer = match step {
        "get" => t.ok("autostart_get", json!({})),
        "on" => t.ok("autostart_set", json!({ "enabled": true })),
        "off" => t.ok("autostart_set", json!({ "enabled": false })),
        other => panic!("unknown step {other}"),
    };
    println!("STEP={answer}");
}
