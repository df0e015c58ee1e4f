//! The library: listing with filters, thumbnails from the cache, copy (clipboard), open
//! and reveal refusals, remote listing, refresh and delete.

use std::time::{Duration, Instant};

use ferry_core::library::Provenance;
use ferry_core::{Kind, MediaStatus, RemoteMedia};
use serde_json::{json, Value};
use tauri::Manager;
use tauri_plugin_clipboard_manager::ClipboardExt;

use crate::support::{all_final, clipboard_turn, fakes, png, TestApp};

/// Upload one PNG to the local library; returns its library item.
fn uploaded(t: &TestApp, name: &str) -> Value {
    let src = tempfile::tempdir().unwrap();
    let file = png(src.path(), name, 640, 480);
    t.ok(
        "queue_add_paths",
        json!({ "paths": [file], "account": "library", "origin": "drop" }),
    );
    t.wait_jobs(20, all_final);
    let items = t.ok("library_list", json!({ "filter": { "search": name } }))["items"].clone();
    // The source folder goes away with `src`; the library keeps its own copy.
    items[0].clone()
}

#[test]
fn an_uploaded_image_is_listed_with_its_url_and_gets_a_thumbnail_in_the_cache() {
    let t = TestApp::new();
    let item = uploaded(&t, "sunset.png");
    assert_eq!(item["name"], "sunset.png");
    assert_eq!(item["account"], "library");
    assert_eq!(item["provider"], "local");
    assert_eq!(item["status"], "ready");
    assert_eq!(item["mime_type"], "image/png");
    assert!(item["url"].as_str().unwrap().starts_with("file://"));
    let deadline = Instant::now() + Duration::from_secs(20);
    let thumb = loop {
        let items = t.ok("library_list", json!({ "filter": {} }))["items"].clone();
        if let Some(p) = items[0]["thumbnail"].as_str() {
            break std::path::PathBuf::from(p);
        }
        assert!(Instant::now() < deadline, "no thumbnail: {items:#}");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(
        thumb.starts_with(t.home().join("thumbs")),
        "{}",
        thumb.display()
    );
    let img = image::open(&thumb).unwrap();
    // 640×480 shrinks to a 128×96 tile (the short side 96 px).
    assert_eq!((img.width(), img.height()), (128, 96));
}

#[test]
fn an_image_imported_from_a_url_to_an_api_gets_its_thumbnail_from_its_own_link() {
    let t = TestApp::new();
    t.ok(
        "account_add",
        json!({
            "name": "sp",
            "kind": "synposter",
            "options": { "api_url": fakes().synposter.api_url() },
            "secret": ferry_fakes::SYNPOSTER_KEY,
        }),
    );
    let origin = &fakes().origin;
    let src = tempfile::tempdir().unwrap();
    origin.serve(
        "/thumbs/wide.png",
        std::fs::read(png(src.path(), "wide.png", 300, 200)).unwrap(),
        "image/png",
    );
    t.ok(
        "queue_add_urls",
        json!({ "text": origin.url("/thumbs/wide.png"), "account": "sp" }),
    );
    let jobs = t.wait_jobs(20, all_final);
    assert_eq!(jobs[0]["status"], "succeeded", "{:#}", jobs[0]);
    // No file on this computer: the thumbnail comes from the item's link at Synposter.
    let deadline = Instant::now() + Duration::from_secs(20);
    let (item, thumb) = loop {
        let items = t.ok("library_list", json!({ "filter": { "account": "sp" } }))["items"].clone();
        if let Some(p) = items[0]["thumbnail"].as_str() {
            break (items[0].clone(), std::path::PathBuf::from(p));
        }
        assert!(Instant::now() < deadline, "no thumbnail: {items:#}");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(item["url"]
        .as_str()
        .unwrap()
        .starts_with("http://127.0.0.1:"));
    assert!(thumb.starts_with(t.home().join("thumbs")));
    let img = image::open(&thumb).unwrap();
    assert_eq!((img.width(), img.height()), (144, 96));
    // The fetched original is not kept next to the thumbnails.
    let left: Vec<_> = std::fs::read_dir(t.home().join("thumbs"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(left.len(), 1, "{left:?}");
}

#[test]
fn a_video_processing_at_fastpix_turns_ready_in_the_library_by_itself() {
    let t = TestApp::new();
    t.ok(
        "account_add",
        json!({
            "name": "fp",
            "kind": "fastpix",
            "options": { "api_url": fakes().fastpix.api_url(), "token_id": ferry_fakes::FASTPIX_TOKEN_ID },
            "secret": ferry_fakes::FASTPIX_SECRET,
        }),
    );
    let src = tempfile::tempdir().unwrap();
    let clip = src.path().join("clip.mp4");
    let mut bytes = b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2".to_vec();
    bytes.extend(std::iter::repeat_n(7u8, 64 * 1024));
    std::fs::write(&clip, bytes).unwrap();
    t.ok(
        "queue_add_paths",
        json!({ "paths": [clip], "account": "fp", "origin": "drop" }),
    );
    let jobs = t.wait_jobs(30, all_final);
    assert_eq!(jobs[0]["status"], "succeeded", "{:#}", jobs[0]);
    let status = || {
        t.ok("library_list", json!({ "filter": { "account": "fp" } }))["items"][0]["status"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert_eq!(status(), "processing", "FastPix is still processing it");
    // Nobody presses anything: the app polls FastPix until the video is ready.
    let deadline = Instant::now() + Duration::from_secs(60);
    while status() == "processing" {
        assert!(Instant::now() < deadline, "still processing after 60 s");
        std::thread::sleep(Duration::from_millis(250));
    }
    assert_eq!(status(), "ready");
}

#[test]
fn library_filters_by_account_status_and_search_and_refuses_unknown_values() {
    let t = TestApp::new();
    uploaded(&t, "one.png");
    uploaded(&t, "two.png");
    let all = t.ok("library_list", json!({ "filter": {} }))["items"].clone();
    let names: Vec<&str> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["two.png", "one.png"], "newest first");
    assert_eq!(
        t.ok("library_list", json!({}))["items"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    let f = |filter: Value| {
        t.ok("library_list", json!({ "filter": filter }))["items"]
            .as_array()
            .unwrap()
            .len()
    };
    assert_eq!(f(json!({ "search": "TWO" })), 1);
    assert_eq!(f(json!({ "status": "ready", "account": "library" })), 2);
    assert_eq!(f(json!({ "status": "deleted" })), 0);
    assert_eq!(f(json!({ "limit": 1 })), 1);
    assert_eq!(f(json!({ "status": "", "search": "", "account": "" })), 2);
    assert_eq!(
        t.err("library_list", json!({ "filter": { "status": "shiny" } }))
            .0,
        "input.invalid"
    );
    assert_eq!(
        t.err("library_list", json!({ "filter": { "account": "nope" } }))
            .0,
        "config.unknown_account"
    );
}

#[test]
fn a_finished_batch_of_dropped_files_puts_their_links_on_the_clipboard() {
    let _turn = clipboard_turn();
    let t = TestApp::with_defaults();
    let mut settings = t.ok("settings_get", json!({}));
    assert_eq!(settings["copyAfterUpload"], true, "on by default");
    settings["copyFormat"] = json!("markdown");
    t.ok("settings_set", json!({ "settings": settings }));
    t.app.clipboard().write_text("before").unwrap();
    let src = tempfile::tempdir().unwrap();
    let a = png(src.path(), "a.png", 8, 8);
    let b = png(src.path(), "b.png", 9, 9);
    t.ok(
        "queue_add_paths",
        json!({ "paths": [a, b], "account": "library", "origin": "drop" }),
    );
    t.wait_jobs(20, all_final);
    // The batch is over once the queue has been quiet for 2 s; then both links, in order
    // of completion, one per line, in the copy format.
    let deadline = Instant::now() + Duration::from_secs(15);
    let text = loop {
        let text = t.app.clipboard().read_text().unwrap_or_default();
        if text != "before" {
            break text;
        }
        assert!(Instant::now() < deadline, "nothing was copied");
        std::thread::sleep(Duration::from_millis(100));
    };
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    for name in ["a.png", "b.png"] {
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with(&format!("![{name}](file://")) && l.ends_with(")")),
            "{text}"
        );
    }
}

#[test]
fn watched_uploads_and_a_disabled_setting_leave_the_clipboard_alone() {
    let _turn = clipboard_turn();
    let t = TestApp::with_defaults();
    t.app.clipboard().write_text("mine").unwrap();
    let dir = tempfile::tempdir().unwrap();
    t.ok(
        "watch_add",
        json!({ "dir": dir.path(), "account": "library", "options": { "settleSecs": 0.2 } }),
    );
    png(dir.path(), "watched.png", 8, 8);
    t.wait_jobs(30, |j| {
        j.iter()
            .any(|j| j["name"] == "watched.png" && j["status"] == "succeeded")
    });
    // Longer than the batch's quiet time: the watched batch is over, its link not copied.
    std::thread::sleep(Duration::from_secs(4));
    assert_eq!(t.app.clipboard().read_text().unwrap(), "mine");
    let mut settings = t.ok("settings_get", json!({}));
    settings["copyAfterUpload"] = json!(false);
    t.ok("settings_set", json!({ "settings": settings }));
    let src = tempfile::tempdir().unwrap();
    let f = png(src.path(), "dropped.png", 8, 8);
    t.ok(
        "queue_add_paths",
        json!({ "paths": [f], "account": "library", "origin": "drop" }),
    );
    t.wait_jobs(20, all_final);
    // Longer than the batch's quiet time.
    std::thread::sleep(Duration::from_secs(4));
    assert_eq!(t.app.clipboard().read_text().unwrap(), "mine");
}

#[test]
fn copy_puts_the_link_on_the_clipboard_in_each_format_and_defaults_to_the_setting() {
    let _turn = clipboard_turn();
    let t = TestApp::new();
    let item = uploaded(&t, "cat.png");
    let id = item["id"].clone();
    let url = item["url"].as_str().unwrap().to_string();
    let copy = |format: Value| t.ok("library_copy", json!({ "id": id, "format": format }));
    assert_eq!(copy(json!("plain")), json!(url));
    assert_eq!(t.app.clipboard().read_text().unwrap(), url);
    assert_eq!(copy(json!("markdown")), json!(format!("![cat.png]({url})")));
    assert_eq!(
        t.app.clipboard().read_text().unwrap(),
        format!("![cat.png]({url})")
    );
    let html = format!("<img src=\"{url}\" alt=\"cat.png\">");
    assert_eq!(copy(json!("html")), json!(html));
    let mut settings = t.ok("settings_get", json!({}));
    settings["copyFormat"] = json!("markdown");
    t.ok("settings_set", json!({ "settings": settings }));
    assert_eq!(copy(Value::Null), json!(format!("![cat.png]({url})")));
    assert_eq!(
        t.err("library_copy", json!({ "id": id, "format": "rtf" }))
            .0,
        "input.invalid"
    );
    assert_eq!(
        t.err("library_copy", json!({ "id": 999_999, "format": "plain" }))
            .0,
        "input.invalid"
    );
}

#[test]
fn open_and_reveal_refuse_what_they_cannot_or_must_not_open() {
    let t = TestApp::new();
    let engine = t.app.state::<ferry_app::AppState>().engine.clone();
    let record = |id: &str, url: Option<&str>| {
        engine
            .library_handle()
            .record(
                &RemoteMedia {
                    id: id.into(),
                    name: format!("{id}.png"),
                    url: url.map(str::to_string),
                    mime_type: "image/png".into(),
                    size: Some(1),
                    status: MediaStatus::Ready,
                    expires_at: None,
                },
                &Provenance {
                    account: "library",
                    kind: Kind::Local,
                    content_hash: None,
                    job_id: None,
                    source: Some("/nonexistent/ferry/test.png"),
                },
            )
            .unwrap()
    };
    let script = record("script", Some("javascript:alert(1)"));
    let none = record("nolink", None);
    assert_eq!(
        t.err("library_open", json!({ "id": script })).0,
        "input.invalid_url"
    );
    assert_eq!(
        t.err("library_open", json!({ "id": none })).0,
        "input.invalid"
    );
    assert_eq!(
        t.err("library_open", json!({ "id": 424242 })).0,
        "input.invalid"
    );
    assert_eq!(
        t.err("library_reveal", json!({ "id": script })).0,
        "input.not_found"
    );
    assert_eq!(
        t.err("library_reveal", json!({ "id": 424242 })).0,
        "input.invalid"
    );
}

#[test]
fn open_never_opens_a_file_link_that_a_remote_provider_returned() {
    let t = TestApp::new();
    let engine = t.app.state::<ferry_app::AppState>().engine.clone();
    let id = engine
        .library_handle()
        .record(
            &RemoteMedia {
                id: "remote-file".into(),
                name: "remote-file.png".into(),
                // A path that does not exist: were it opened, nothing could launch.
                url: Some("file:///nonexistent/ferry-test/remote-file.png".into()),
                mime_type: "image/png".into(),
                size: Some(1),
                status: MediaStatus::Ready,
                expires_at: None,
            },
            &Provenance {
                account: "elsewhere",
                kind: Kind::Synposter,
                content_hash: None,
                job_id: None,
                source: None,
            },
        )
        .unwrap();
    let (code, message) = t.err("library_open", json!({ "id": id }));
    assert_eq!(code, "input.invalid_url", "{message}");
}

#[test]
fn the_remote_tab_lists_the_local_library_and_refuses_apis_without_a_listing() {
    let t = TestApp::new();
    uploaded(&t, "remote.png");
    let remote = t.ok("library_remote", json!({ "account": "library" }));
    let names: Vec<&str> = remote
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"remote.png"), "{remote:#}");
    t.ok(
        "account_add",
        json!({
            "name": "sp",
            "kind": "synposter",
            "options": { "api_url": fakes().synposter.api_url() },
            "secret": ferry_fakes::SYNPOSTER_KEY,
        }),
    );
    assert_eq!(
        t.err("library_remote", json!({ "account": "sp" })).0,
        "provider.unsupported"
    );
    assert_eq!(
        t.err("library_remote", json!({ "account": "nope" })).0,
        "config.unknown_account"
    );
}

#[test]
fn refresh_counts_changes_and_delete_removes_the_local_copy() {
    let t = TestApp::new();
    let item = uploaded(&t, "gone.png");
    assert_eq!(t.ok("library_refresh", json!({ "account": null })), 0);
    assert_eq!(t.ok("library_refresh", json!({ "account": "library" })), 0);
    let path = url::Url::parse(item["url"].as_str().unwrap())
        .unwrap()
        .to_file_path()
        .unwrap();
    assert!(path.is_file());
    let deleted = t.ok("library_delete", json!({ "id": item["id"] }));
    assert_eq!(deleted["status"], "deleted");
    assert!(!path.exists());
    assert_eq!(
        t.err("library_delete", json!({ "id": 424242 })).0,
        "input.invalid"
    );
    assert_eq!(
        t.err("library_refresh", json!({ "account": "nope" })).0,
        "config.unknown_account"
    );
}
