//! `app_info` and `providers_list`.

use serde_json::json;

use crate::support::TestApp;

#[test]
fn app_info_reports_the_default_library_account_and_home() {
    let t = TestApp::new();
    let info = t.ok("app_info", json!({}));
    assert_eq!(info["defaultAccount"], "library");
    assert_eq!(info["accounts"], 1);
    // The one version: the workspace's, which the CLI and the packages carry too.
    assert_eq!(info["version"], workspace_version());
    assert_eq!(
        info["home"].as_str().unwrap(),
        std::path::absolute(t.home()).unwrap().to_str().unwrap()
    );
    // The mock runtime makes no tray icon: close-to-tray must not hide the window.
    assert_eq!(info["tray"], false);
}

#[test]
fn providers_list_describes_every_kind_with_options_limits_and_features() {
    let t = TestApp::new();
    let list = t.ok("providers_list", json!({}));
    let kinds: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "local",
            "synposter",
            "socialsyncer",
            "postsyncer",
            "fastpix",
            "s3"
        ]
    );
    let sp = &list[1];
    assert_eq!(sp["displayName"], "Synposter");
    let key = sp["options"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["name"] == "api_key")
        .unwrap();
    assert_eq!(key["secret"], true);
    assert_eq!(key["required"], true);
    assert_eq!(sp["features"]["testCredentials"], true);
    assert_eq!(sp["features"]["listRemote"], false);
    assert!(sp["maxBytes"].as_u64().unwrap() > 0);
    assert!(!sp["accepts"].as_str().unwrap().is_empty());
    let local = &list[0];
    assert_eq!(local["maxBytes"], serde_json::Value::Null);
    assert_eq!(local["features"]["deleteRemote"], true);
    let fastpix = &list[4];
    assert_eq!(fastpix["features"]["importUrl"], true);
    assert_eq!(fastpix["features"]["resumable"], true);
}

#[test]
fn opened_on_a_home_a_terminal_runner_holds_the_app_says_who_sends_and_takes_over_after() {
    let home = tempfile::tempdir().unwrap();
    // `ferry watch run` in a terminal holds this home.
    let other = ferry_core::Engine::with_secret_store(
        ferry_core::config::Home::at(home.path()),
        std::sync::Arc::new(ferry_core::secrets::MemoryStore::default()),
    )
    .unwrap();
    assert!(matches!(
        other.take_home("ferry watch run").unwrap(),
        ferry_core::Taken::Owner { .. }
    ));
    let t = TestApp::in_home(home);
    let info = t.ok("app_info", json!({}));
    assert_eq!(info["runner"]["program"], "ferry watch run", "{info}");
    assert_eq!(info["runner"]["thisApp"], false, "{info}");
    // A file dropped meanwhile is queued for that runner, not sent by the app.
    let src = tempfile::tempdir().unwrap();
    let file = crate::support::png(src.path(), "held.png", 4, 4);
    t.ok(
        "queue_add_paths",
        json!({ "paths": [file], "account": "library", "origin": "drop" }),
    );
    std::thread::sleep(std::time::Duration::from_millis(1500));
    assert_eq!(t.jobs()[0]["status"], "queued");
    // The terminal runner ends: the app takes over and sends it.
    drop(other);
    t.wait_jobs(20, |j| j[0]["status"] == "succeeded");
    let info = t.ok("app_info", json!({}));
    assert_eq!(info["runner"]["thisApp"], true, "{info}");
    assert_eq!(info["runner"]["program"], "the Ferry desktop app", "{info}");
}

/// `[workspace.package] version` of the root Cargo.toml, read from the file (not from
/// this crate's own CARGO_PKG_VERSION, which is what is being checked).
pub fn workspace_version() -> String {
    let manifest = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml"))
        .expect("the root Cargo.toml");
    let table: toml::Table = manifest.parse().expect("Cargo.toml parses");
    table["workspace"]["package"]["version"]
        .as_str()
        .expect("workspace.package.version")
        .to_string()
}

#[test]
fn diagnostics_save_writes_the_zip_where_asked_and_refuses_a_relative_path() {
    let t = TestApp::new();
    let out = t.home().join("diag.zip");
    let saved = t.ok(
        "diagnostics_save",
        json!({ "path": out.display().to_string() }),
    );
    assert_eq!(saved["path"], out.display().to_string());
    let entries: Vec<&str> = saved["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e.as_str().unwrap())
        .collect();
    for want in [
        "about.json",
        "settings.json",
        "accounts.json",
        "jobs.json",
        "checks.json",
    ] {
        assert!(entries.contains(&want), "{want} missing from {entries:?}");
    }
    assert_eq!(
        saved["bytes"].as_u64().unwrap(),
        std::fs::metadata(&out).unwrap().len()
    );
    let (code, message) = t.err("diagnostics_save", json!({ "path": "diag.zip" }));
    assert_eq!(code, "input.invalid");
    assert!(message.contains("not an absolute path"), "{message}");
}
