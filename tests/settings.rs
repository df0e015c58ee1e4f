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
            "bwlimit": "off", "slowBwlimit": "1M", "slowDown": false,
        })
    );
    let new = json!({
        "concurrency": 3, "perAccount": 2, "defaultAccount": "library",
        "copyFormat": "html", "copyAfterUpload": false, "startMinimised": true,
        "closeToTray": true, "dropLimit": 1200, "keepAwake": false,
        "pauseOnMetered": true, "pauseOnBattery": true,
        "bwlimit": "08:00,512k 18:00,off", "slowBwlimit": "256k", "slowDown": false,
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
    assert!(
        config.contains("bwlimit = \"08:00,512k 18:00,off\""),
        "{config}"
    );
}

#[test]
fn slow_down_holds_the_slow_limit_until_full_speed_and_the_header_sees_it() {
    let t = TestApp::with_defaults();
    let mut s = t.ok("settings_get", json!({}));
    s["bwlimit"] = json!("4M");
    s["slowBwlimit"] = json!("512k");
    t.ok("settings_set", json!({ "settings": s }));
    let info = t.ok("app_info", json!({}));
    assert_eq!(info["bandwidth"]["rate"], "4M");
    assert_eq!(info["bandwidth"]["bytesPerSec"], 4 << 20);
    assert_eq!(info["bandwidth"]["slowed"], false);
    let now = t.ok("bandwidth_slow_down", json!({ "on": true }));
    assert_eq!(now["rate"], "512k");
    assert_eq!(now["slowed"], true);
    assert_eq!(now["waiting"], false);
    assert_eq!(t.ok("settings_get", json!({}))["slowDown"], true, "saved");
    let now = t.ok("bandwidth_slow_down", json!({ "on": false }));
    assert_eq!(now["rate"], "4M");
    // A limit of 0 now: the header says the queue waits.
    s["bwlimit"] = json!("0");
    t.ok("settings_set", json!({ "settings": s }));
    let b = &t.ok("app_info", json!({}))["bandwidth"];
    assert_eq!(b["waiting"], true);
    assert_eq!(b["bytesPerSec"], 0);
    // An older page that does not know the fields keeps them.
    let mut old = t.ok("settings_get", json!({}));
    for k in ["bwlimit", "slowBwlimit", "slowDown"] {
        old.as_object_mut().unwrap().remove(k);
    }
    t.ok("settings_set", json!({ "settings": old }));
    assert_eq!(t.ok("settings_get", json!({}))["bwlimit"], "0");
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
    let (code, message) = with("bwlimit", json!("08:00 512k"));
    assert_eq!(code, "config.invalid");
    assert!(message.contains("TIME,RATE"), "{message}");
    assert_eq!(with("slowBwlimit", json!("fast")).0, "config.invalid");
    assert_eq!(t.ok("settings_get", json!({})), base, "nothing was saved");
}
