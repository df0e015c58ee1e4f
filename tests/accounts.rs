//! Accounts: add (secret to the store only), list, test against the fake, set default,
//! remove, and the errors of each.

use serde_json::json;

use crate::support::{fakes, TestApp};

fn add_synposter(t: &TestApp, name: &str, key: &str) -> serde_json::Value {
    t.ok(
        "account_add",
        json!({
            "name": name,
            "kind": "synposter",
            "options": { "api_url": fakes().synposter.api_url() },
            "secret": key,
        }),
    )
}

#[test]
fn an_added_account_keeps_its_key_in_the_secret_store_and_nowhere_else() {
    let t = TestApp::new();
    let list = add_synposter(&t, "sp", ferry_fakes::SYNPOSTER_KEY);
    let sp = list
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == "sp")
        .expect("the new account is listed");
    assert_eq!(sp["kind"], "synposter");
    assert_eq!(sp["secret"], "keychain");
    assert_eq!(sp["default"], false);
    assert_eq!(sp["options"]["api_url"], fakes().synposter.api_url());
    assert_eq!(
        t.secret_of("sp").as_deref(),
        Some(ferry_fakes::SYNPOSTER_KEY)
    );
    assert!(!list.to_string().contains(ferry_fakes::SYNPOSTER_KEY));
    let config = std::fs::read_to_string(t.home().join("config.toml")).unwrap();
    assert!(config.contains("[accounts.sp]"));
    assert!(!config.contains(ferry_fakes::SYNPOSTER_KEY));
    let listed = t.ok("accounts_list", json!({}));
    assert_eq!(listed, list);
}

#[test]
fn blank_form_fields_are_left_unset_and_defaults_apply() {
    let t = TestApp::new();
    let list = t.ok(
        "account_add",
        json!({
            "name": "sp2",
            "kind": "synposter",
            "options": { "api_url": "" },
            "secret": "sk_live_x",
        }),
    );
    let sp = list
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == "sp2")
        .unwrap();
    assert_eq!(sp["options"]["api_url"], "https://api.synposter.com/v1");
}

#[test]
fn account_test_passes_with_the_right_key_and_fails_as_auth_invalid_with_a_wrong_one() {
    let t = TestApp::new();
    add_synposter(&t, "good", ferry_fakes::SYNPOSTER_KEY);
    add_synposter(&t, "bad", "sk_live_WrongWrongWrongWrongWrongWrong0");
    assert_eq!(t.ok("account_test", json!({ "name": "good" })), json!(null));
    let (code, message) = t.err("account_test", json!({ "name": "bad" }));
    assert_eq!(code, "auth.invalid", "{message}");
    assert!(!message.contains("WrongWrong"), "{message}");
}

#[test]
fn account_errors_carry_stable_codes() {
    let t = TestApp::new();
    let add = |name: &str, kind: &str, secret: Option<&str>| {
        t.err(
            "account_add",
            json!({ "name": name, "kind": kind, "options": {}, "secret": secret }),
        )
    };
    assert_eq!(add("x", "dropbox", None).0, "config.invalid");
    assert_eq!(add("x", "synposter", None).0, "auth.missing_secret");
    assert_eq!(add("bad name!", "local", None).0, "config.invalid");
    assert_eq!(add("x", "local", Some("s3cret")).0, "config.invalid");
    assert_eq!(add("library", "local", None).0, "config.account_exists");
    let (code, _) = t.err(
        "account_add",
        json!({ "name": "b", "kind": "s3", "options": {}, "secret": "k" }),
    );
    assert_eq!(code, "config.invalid", "a required option is missing");
    let (code, message) = t.err(
        "account_add",
        json!({ "name": "b", "kind": "synposter", "options": { "api_key": "k" }, "secret": "k" }),
    );
    assert_eq!(code, "config.invalid", "{message}");
    assert_eq!(
        t.err("account_test", json!({ "name": "nope" })).0,
        "config.unknown_account"
    );
    assert_eq!(
        t.err("account_remove", json!({ "name": "nope" })).0,
        "config.unknown_account"
    );
    assert_eq!(
        t.err("account_remove", json!({ "name": "library" })).0,
        "config.invalid"
    );
    assert_eq!(
        t.err("account_set_default", json!({ "name": "nope" })).0,
        "config.unknown_account"
    );
}

#[test]
fn the_default_can_move_and_falls_back_to_library_when_its_account_is_removed() {
    let t = TestApp::new();
    add_synposter(&t, "sp", ferry_fakes::SYNPOSTER_KEY);
    let list = t.ok("account_set_default", json!({ "name": "sp" }));
    let default: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["default"] == true)
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    assert_eq!(default, ["sp"]);
    assert_eq!(t.ok("app_info", json!({}))["defaultAccount"], "sp");
    let list = t.ok("account_remove", json!({ "name": "sp" }));
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["name"], "library");
    assert_eq!(list[0]["default"], true);
    assert_eq!(t.secret_of("sp"), None, "removing deletes the secret");
}

#[test]
fn the_app_never_offers_or_accepts_a_command_to_run() {
    let t = crate::support::TestApp::new();
    let providers = t.ok("providers_list", serde_json::json!({}));
    for p in providers.as_array().unwrap() {
        let names: Vec<&str> = p["options"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["name"].as_str().unwrap())
            .collect();
        assert!(names.contains(&"after_batch"), "{names:?}");
        assert!(!names.contains(&"after_command"), "{names:?}");
    }
    let (code, message) = t.err(
        "account_add",
        serde_json::json!({ "name": "lib2", "kind": "local", "options": { "after_command": "rm -rf ~" }, "secret": null }),
    );
    assert_eq!(code, "config.invalid");
    assert!(message.contains("ferry account add"), "{message}");
    let accounts = t.ok("accounts_list", serde_json::json!({}));
    assert!(
        !accounts
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["name"] == "lib2"),
        "nothing added"
    );
}

/// The account form's live preview: what a template makes of the sample file, or the
/// refusal `account_add` would give; and a file dropped on the account lands there.
#[test]
fn account_name_preview_renders_the_sample_or_says_why_and_uploads_follow_the_template() {
    let t = TestApp::new();
    let p = t.ok(
        "account_name_preview",
        json!({ "kind": "local", "template": "{account}/{stem}-{hash8}{ext}", "account": "pics" }),
    );
    let p = p.as_str().unwrap();
    assert!(
        p.starts_with("pics/IMG_2041-") && p.ends_with(".jpg"),
        "{p}"
    );
    for (tpl, says) in [
        ("{yyyy}/{when}/{name}", "`{when}`, which is not a token"),
        ("{yyyy}/../{name}", "`..`"),
        ("{yyyy}:{name}", "holds `:`"),
    ] {
        let (code, message) = t.err(
            "account_name_preview",
            json!({ "kind": "local", "template": tpl, "account": "pics" }),
        );
        assert_eq!(code, "config.invalid", "{tpl}");
        assert!(message.contains(says), "{tpl}: {message}");
    }
    let (code, message) = t.err(
        "account_name_preview",
        json!({ "kind": "fastpix", "template": "{name}", "account": "v" }),
    );
    assert_eq!(code, "config.invalid");
    assert!(message.contains("S3 and the local library"), "{message}");
    // The same refusal when the form is submitted.
    let (code, _) = t.err(
        "account_add",
        json!({ "name": "pics", "kind": "local", "options": { "name_template": "../{name}" }, "secret": null }),
    );
    assert_eq!(code, "config.invalid");

    let lib = t.home().join("pics-lib");
    t.ok(
        "account_add",
        json!({
            "name": "pics", "kind": "local", "secret": null,
            "options": { "dir": lib, "name_template": "{account}/{rule}/{name}" },
        }),
    );
    let src = tempfile::tempdir().unwrap();
    let file = crate::support::png(src.path(), "dropped.png", 8, 8);
    t.ok(
        "queue_add_paths",
        json!({ "paths": [file], "account": "pics", "origin": "drop" }),
    );
    t.wait_jobs(20, crate::support::all_final);
    assert!(lib.join("pics/manual/dropped.png").is_file());
}
