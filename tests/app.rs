//! `app_info` and `providers_list`.

use serde_json::json;

use crate::support::TestApp;

#[test]
fn app_info_reports_the_default_library_account_and_home() {
    let t = TestApp::new();
    let info = t.ok("app_info", json!({}));
    assert_eq!(info["defaultAccount"], "library");
    assert_eq!(info["accounts"], 1);
    assert_eq!(info["version"], env!("CARGO_PKG_VERSION"));
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
