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

#[test]
fn the_proxy_is_saved_with_its_password_in_the_keychain_only_and_used_without_a_restart() {
    use ferry_fakes::forward_proxy::{ForwardProxy, ProxyAuth};
    let t = TestApp::new();
    assert_eq!(
        t.ok("proxy_get", json!({})),
        json!({ "proxy": "system", "user": null, "password": "none" })
    );
    let proxy = tauri::async_runtime::block_on(ForwardProxy::socks5(ProxyAuth::UserPass(
        "app".into(),
        "app-pr0xy".into(),
    )));
    let url = format!("socks5://{}", proxy.addr());

    // A password inside the URL is refused, saying where it goes.
    let (code, message) = t.err(
        "proxy_set",
        json!({ "proxy": format!("socks5://app:app-pr0xy@{}", proxy.addr()), "user": null, "password": null, "clearPassword": false }),
    );
    assert_eq!(code, "config.invalid");
    assert!(message.contains("keychain"), "{message}");
    assert!(!message.contains("app-pr0xy"), "{message}");
    let (code, _) = t.err(
        "proxy_set",
        json!({ "proxy": "gopher://x:1", "user": null, "password": null, "clearPassword": false }),
    );
    assert_eq!(code, "config.invalid");

    let saved = t.ok(
        "proxy_set",
        json!({ "proxy": url, "user": "app", "password": "app-pr0xy", "clearPassword": false }),
    );
    assert_eq!(
        saved,
        json!({ "proxy": url, "user": "app", "password": "keychain" })
    );
    assert_eq!(t.secret_of("@proxy").as_deref(), Some("app-pr0xy"));
    assert_eq!(
        t.ok("proxy_get", json!({})),
        saved,
        "never the password back"
    );
    let config = std::fs::read_to_string(t.home().join("config.toml")).unwrap();
    assert!(!config.contains("app-pr0xy"), "{config}");

    // The next upload goes through it: no restart.
    let f = crate::support::fakes();
    t.ok(
        "account_add",
        json!({ "name": "sp", "kind": "synposter", "options": { "api_url": f.synposter.api_url() }, "secret": ferry_fakes::SYNPOSTER_KEY }),
    );
    let src = tempfile::tempdir().unwrap();
    let file = crate::support::png(src.path(), "through-the-proxy.png", 30, 20);
    t.ok(
        "queue_add_paths",
        json!({ "paths": [file], "account": "sp", "origin": "drop" }),
    );
    let jobs = t.wait_jobs(30, crate::support::all_final);
    assert_eq!(jobs[0]["status"], "succeeded", "{:#}", jobs[0]);
    let api = f.synposter.api_url();
    let target = api["http://".len()..]
        .split('/')
        .next()
        .unwrap()
        .to_string();
    assert!(proxy.targets().contains(&target), "{:?}", proxy.targets());

    // Keeping the password when only the user field is sent again; clearing it.
    let kept = t.ok(
        "proxy_set",
        json!({ "proxy": url, "user": "app", "password": "", "clearPassword": false }),
    );
    assert_eq!(kept["password"], "keychain");
    let cleared = t.ok(
        "proxy_set",
        json!({ "proxy": "none", "user": null, "password": null, "clearPassword": true }),
    );
    assert_eq!(
        cleared,
        json!({ "proxy": "none", "user": null, "password": "none" })
    );
    assert_eq!(t.secret_of("@proxy"), None);
}
