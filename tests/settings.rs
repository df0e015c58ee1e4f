//! Settings: defaults, a saved round trip, and refused values.

use serde_json::json;

use crate::support::TestApp;

#[test]
fn settings_start_with_defaults_and_save_every_field() {
    let t = TestApp::with_defaults();
    let s = t.ok("settings_get", json!({}));
    assert_eq!(
        s,
        json!({
            "concurrency": 8, "perAccount": 8, "defaultAccount": "library",
            "copyFormat": "plain", "copyAfterUpload": true, "startMinimised": false,
            "closeToTray": false, "dropLimit": 50000, "keepAwake": true,
            "pauseOnMetered": false, "pauseOnBattery": false,
        })
    );
    let new = json!({
        "concurrency": 3, "perAccount": 2, "defaultAccount": "library",
        "copyFormat": "html", "copyAfterUpload": false, "startMinimised": true,
        "closeToTray": true, "dropLimit": 1200, "keepAwake": false,
        "pauseOnMetered": true, "pauseOnBattery": true,
    });
    assert_eq!(t.ok("settings_set", json!({ "settings": new })), new);
    assert_eq!(t.ok("settings_get", json!({})), new);
    let config = std::fs::read_to_string(t.home().join("config.toml")).unwrap();
    assert!(config.contains("copy_format = \"html\""), "{config}");
    assert!(config.contains("close_to_tray = true"), "{config}");
    assert!(config.contains("copy_after_upload = false"), "{config}");
    assert!(config.contains("drop_limit = 1200"), "{config}");
    assert!(config.contains("keep_awake = false"), "{config}");
    assert!(config.contains("pause_on_metered = true"), "{config}");
    assert!(config.contains("pause_on_battery = true"), "{config}");
}

#[test]
fn settings_refuse_out_of_range_unknown_or_malformed_values() {
    let t = TestApp::new();
    let base = t.ok("settings_get", json!({}));
    let with = |k: &str, v: serde_json::Value| {
        let mut s = base.clone();
        s[k] = v;
        t.err("settings_set", json!({ "settings": s }))
    };
    assert_eq!(with("concurrency", json!(0)).0, "config.invalid");
    assert_eq!(with("perAccount", json!(500)).0, "config.invalid");
    assert_eq!(with("dropLimit", json!(0)).0, "config.invalid");
    assert_eq!(with("dropLimit", json!(2_000_000)).0, "config.invalid");
    assert_eq!(
        with("defaultAccount", json!("nope")).0,
        "config.unknown_account"
    );
    assert_eq!(with("copyFormat", json!("rtf")).0, "input.invalid");
    assert_eq!(with("closeToTray", json!("yes")).0, "input.invalid");
    assert_eq!(t.ok("settings_get", json!({})), base, "nothing was saved");
}
