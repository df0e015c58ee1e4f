//! The queue: paths (drop/pick), pasted URL lines, clipboard images and copied files,
//! listing and control.

use serde_json::json;
use tauri::Manager;
use tauri_plugin_clipboard_manager::ClipboardExt;

use crate::support::{all_final, clipboard_turn, fakes, png, TestApp};

#[test]
fn a_dropped_file_is_queued_and_uploaded_to_the_local_library() {
    let t = TestApp::new();
    let src = tempfile::tempdir().unwrap();
    let file = png(src.path(), "photo.png", 40, 30);
    let ids = t.ok(
        "queue_add_paths",
        json!({ "paths": [file], "account": "library", "origin": "drop" }),
    );
    let id = ids[0].as_i64().expect("a job id");
    let jobs = t.wait_jobs(20, all_final);
    let job = jobs.iter().find(|j| j["id"] == id).unwrap();
    assert_eq!(job["status"], "succeeded", "{job:#}");
    assert_eq!(job["origin"], "drop");
    assert_eq!(job["sourceKind"], "path");
    assert_eq!(job["name"], "photo.png");
    assert_eq!(job["input"], file.to_str().unwrap());
    let url = job["media"][0]["url"].as_str().unwrap();
    assert!(url.starts_with("file://"), "{url}");
    assert!(url.ends_with("photo.png"), "{url}");
}

#[test]
fn a_dropped_folder_expands_to_its_media_files() {
    let t = TestApp::new();
    let src = tempfile::tempdir().unwrap();
    std::fs::create_dir(src.path().join("sub")).unwrap();
    png(src.path(), "a.png", 4, 4);
    png(&src.path().join("sub"), "b.png", 4, 4);
    std::fs::write(src.path().join(".hidden"), b"x").unwrap();
    // Not media, whatever the name says: left out of a folder.
    std::fs::write(src.path().join("notes.txt"), b"shot list").unwrap();
    std::fs::write(src.path().join("sub/fake.jpg"), b"not a jpeg").unwrap();
    let ids = t.ok(
        "queue_add_paths",
        json!({ "paths": [src.path()], "account": "library", "origin": "pick" }),
    );
    assert_eq!(ids.as_array().unwrap().len(), 2);
    let jobs = t.wait_jobs(20, all_final);
    let mut names: Vec<&str> = jobs.iter().map(|j| j["name"].as_str().unwrap()).collect();
    names.sort();
    assert_eq!(names, ["a.png", "b.png"]);
    assert!(jobs.iter().all(|j| j["status"] == "succeeded"));
}

#[test]
fn bad_paths_are_refused_whole_with_codes_and_nothing_is_queued() {
    let t = TestApp::new();
    let src = tempfile::tempdir().unwrap();
    let good = png(src.path(), "ok.png", 2, 2);
    let missing = src.path().join("missing.png");
    let add = |paths: serde_json::Value, account: &str, origin: &str| {
        t.err(
            "queue_add_paths",
            json!({ "paths": paths, "account": account, "origin": origin }),
        )
    };
    let (code, message) = add(json!([good, missing]), "library", "drop");
    assert_eq!(code, "input.not_found");
    assert!(message.contains("missing.png"), "{message}");
    assert_eq!(
        add(json!(["relative/a.png"]), "library", "drop").0,
        "input.invalid"
    );
    assert_eq!(add(json!([""]), "library", "drop").0, "input.invalid");
    assert_eq!(add(json!([]), "library", "drop").0, "input.invalid");
    assert_eq!(add(json!([good]), "library", "shell").0, "input.invalid");
    assert_eq!(
        add(json!([good]), "nope", "drop").0,
        "config.unknown_account"
    );
    let empty = src.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    assert_eq!(add(json!([empty]), "library", "drop").0, "input.empty");
    std::fs::write(empty.join("readme.txt"), b"no media here").unwrap();
    let (code, msg) = add(json!([empty]), "library", "drop");
    assert_eq!(code, "input.empty");
    assert!(msg.contains("images, videos or audio"), "{msg}");
    assert_eq!(t.jobs(), Vec::<serde_json::Value>::new());
}

#[test]
fn pasted_urls_queue_the_valid_lines_and_report_the_others_by_line_number() {
    let t = TestApp::new();
    let origin = &fakes().origin;
    origin.serve(
        "/paste/cat.png",
        std::fs::read(png(t.home(), "c.png", 8, 8)).unwrap(),
        "image/png",
    );
    let text = format!(
        "{}\n\n  not a url  \nftp://example.com/x\njavascript:alert(1)\n",
        origin.url("/paste/cat.png")
    );
    let res = t.ok(
        "queue_add_urls",
        json!({ "text": text, "account": "library" }),
    );
    assert_eq!(res["jobs"].as_array().unwrap().len(), 1);
    let invalid = res["invalid"].as_array().unwrap();
    let lines: Vec<i64> = invalid
        .iter()
        .map(|l| l["line"].as_i64().unwrap())
        .collect();
    assert_eq!(lines, [3, 4, 5]);
    assert_eq!(invalid[0]["input"], "not a url");
    assert!(invalid.iter().all(|l| l["code"] == "input.invalid_url"));
    assert!(invalid
        .iter()
        .all(|l| !l["message"].as_str().unwrap().is_empty()));
    let jobs = t.wait_jobs(20, all_final);
    assert_eq!(jobs[0]["status"], "succeeded", "{:#}", jobs[0]);
    assert_eq!(jobs[0]["sourceKind"], "url");
    assert_eq!(jobs[0]["origin"], "paste");
}

#[test]
fn pasting_nothing_or_to_an_unknown_account_is_an_error() {
    let t = TestApp::new();
    assert_eq!(
        t.err(
            "queue_add_urls",
            json!({ "text": " \n\n", "account": "library" })
        )
        .0,
        "input.empty"
    );
    assert_eq!(
        t.err(
            "queue_add_urls",
            json!({ "text": "https://example.com/a.png", "account": "nope" })
        )
        .0,
        "config.unknown_account"
    );
}

#[test]
fn a_pasted_clipboard_image_is_staged_as_png_and_uploaded() {
    let _turn = clipboard_turn();
    let t = TestApp::new();
    let (w, h) = (24u32, 16u32);
    let rgba: Vec<u8> = (0..w * h)
        .flat_map(|i| [(i % 255) as u8, 30, 200, 255])
        .collect();
    t.app
        .clipboard()
        .write_image(&tauri::image::Image::new_owned(rgba, w, h))
        .expect("an X display for the clipboard (scripts/test runs under xvfb-run)");
    let id = t.ok("queue_paste_image", json!({ "account": "library" }));
    let jobs = t.wait_jobs(20, all_final);
    let job = jobs.iter().find(|j| j["id"] == id).unwrap();
    assert_eq!(job["status"], "succeeded", "{job:#}");
    assert_eq!(job["origin"], "paste");
    let staged = std::path::PathBuf::from(job["input"].as_str().unwrap());
    assert!(
        staged.starts_with(t.home().join("staging")),
        "{}",
        staged.display()
    );
    let name = staged.file_name().unwrap().to_str().unwrap();
    assert!(
        name.starts_with("pasted-") && name.ends_with(".png"),
        "{name}"
    );
    let img = image::open(&staged).unwrap();
    assert_eq!((img.width(), img.height()), (w, h));

    t.app.clipboard().write_text("just text").unwrap();
    let (code, _) = t.err("queue_paste_image", json!({ "account": "library" }));
    assert_eq!(code, "clipboard.no_image");
    assert_eq!(
        t.err("queue_paste_image", json!({ "account": "nope" })).0,
        "config.unknown_account"
    );
}

#[test]
fn failed_jobs_can_be_retried_and_cancelled_one_by_one() {
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
    let src = tempfile::tempdir().unwrap();
    let empty = src.path().join("empty.png");
    std::fs::write(&empty, b"").unwrap();
    let id = t.ok(
        "queue_add_paths",
        json!({ "paths": [empty], "account": "sp", "origin": "pick" }),
    )[0]
    .clone();
    let jobs = t.wait_jobs(20, all_final);
    assert_eq!(jobs[0]["status"], "failed");
    assert_eq!(jobs[0]["error"]["code"], "input.empty");
    assert_eq!(
        t.ok("queue_control", json!({ "action": "retry", "id": id })),
        1
    );
    let jobs = t.wait_jobs(20, |j| all_final(j) && j[0]["attempts"].as_u64() >= Some(2));
    assert_eq!(jobs[0]["status"], "failed");
    assert_eq!(
        t.ok("queue_control", json!({ "action": "cancel", "id": id })),
        1
    );
    let jobs = t.wait_jobs(5, |j| j[0]["status"] == "cancelled");
    assert_eq!(jobs.len(), 1);
    assert_eq!(
        t.ok("queue_control", json!({ "action": "pause", "id": id })),
        0
    );
}

/// A server on 127.0.0.1 that accepts connections and never answers: a request to it
/// hangs, so a job stays running for as long as the test needs.
fn black_hole() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for conn in listener.incoming().flatten() {
            held.push(conn);
        }
    });
    format!("http://{addr}/v1")
}

#[test]
fn pause_all_resume_all_and_cancel_all_steer_a_running_job() {
    let t = TestApp::new();
    t.ok(
        "account_add",
        json!({
            "name": "slow",
            "kind": "synposter",
            "options": { "api_url": black_hole() },
            "secret": ferry_fakes::SYNPOSTER_KEY,
        }),
    );
    let src = tempfile::tempdir().unwrap();
    let file = png(src.path(), "a.png", 4, 4);
    t.ok(
        "queue_add_paths",
        json!({ "paths": [file], "account": "slow", "origin": "drop" }),
    );
    let running = |j: &[serde_json::Value]| {
        matches!(
            j[0]["status"].as_str(),
            Some("preparing" | "uploading" | "processing")
        )
    };
    t.wait_jobs(20, running);
    assert_eq!(
        t.ok("queue_control", json!({ "action": "pause", "id": null })),
        1
    );
    t.wait_jobs(10, |j| j[0]["status"] == "paused");
    assert_eq!(
        t.ok("queue_control", json!({ "action": "resume", "id": null })),
        1
    );
    t.wait_jobs(10, running);
    assert_eq!(
        t.ok("queue_control", json!({ "action": "cancel", "id": null })),
        1
    );
    t.wait_jobs(10, |j| j[0]["status"] == "cancelled");
}

#[test]
fn queue_control_errors_carry_codes() {
    let t = TestApp::new();
    assert_eq!(
        t.err("queue_control", json!({ "action": "explode", "id": null }))
            .0,
        "input.invalid"
    );
    let (code, _) = t.err("queue_control", json!({ "action": "cancel", "id": 4242 }));
    assert_eq!(code, "queue.not_found");
    // The engine behind the app is the one the commands use.
    assert!(t
        .app
        .state::<ferry_app::AppState>()
        .engine
        .jobs(false)
        .unwrap()
        .is_empty());
}

#[test]
fn quitting_the_app_interrupts_a_running_upload_and_the_next_launch_finishes_it() {
    let t = TestApp::new();
    let stalled = black_hole();
    t.ok(
        "account_add",
        json!({
            "name": "sp",
            "kind": "synposter",
            "options": { "api_url": stalled },
            "secret": ferry_fakes::SYNPOSTER_KEY,
        }),
    );
    let src = tempfile::tempdir().unwrap();
    let file = png(src.path(), "quit.png", 8, 8);
    t.ok(
        "queue_add_paths",
        json!({ "paths": [&file], "account": "sp", "origin": "drop" }),
    );
    t.wait_jobs(20, |j| {
        matches!(
            j[0]["status"].as_str(),
            Some("preparing" | "uploading" | "processing")
        )
    });
    // Quit Ferry (tray menu, window close, logout all end in the exit handler).
    ferry_app::shutdown(t.app.handle());
    let jobs = json!(t.jobs());
    assert_eq!(
        jobs[0]["status"], "queued",
        "interrupted, not cancelled: {jobs}"
    );

    // The destination answers again by the next launch.
    let cfg = t.home().join("config.toml");
    let text = std::fs::read_to_string(&cfg).unwrap();
    std::fs::write(&cfg, text.replace(&stalled, &fakes().synposter.api_url())).unwrap();
    let bytes = std::fs::read(&file).unwrap();
    let t = t.reopen();
    let jobs = t.wait_jobs(30, all_final);
    assert_eq!(jobs[0]["status"], "succeeded", "{jobs:?}");
    let copies = fakes()
        .synposter
        .objects()
        .iter()
        .filter(|o| o.bytes == bytes)
        .count();
    assert_eq!(copies, 1, "sent once");
}

/// Files a file manager copied: another program owns the X clipboard and offers
/// `text/uri-list`, as Nautilus, Dolphin or Thunar do (Explorer's CF_HDROP and Finder's file
/// URLs go through the same arboard call, compiled for those targets).
#[test]
fn files_copied_by_another_program_are_read_from_the_system_clipboard() {
    let _turn = clipboard_turn();
    let t = TestApp::new();
    let dir = tempfile::tempdir().unwrap();
    let a = png(dir.path(), "copied one.png", 4, 4);
    let b = png(dir.path(), "two.png", 4, 4);
    let list = format!(
        "file://{}\r\nfile://{}\r\n",
        a.display().to_string().replace(' ', "%20"),
        b.display()
    );
    // -quiet keeps xclip in the foreground, serving the selection until it is killed.
    let mut owner = std::process::Command::new("xclip")
        .args([
            "-selection",
            "clipboard",
            "-t",
            "text/uri-list",
            "-i",
            "-quiet",
        ])
        .stdin(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("xclip (scripts/setup installs it)");
    {
        use std::io::Write;
        let mut stdin = owner.stdin.take().unwrap();
        stdin.write_all(list.as_bytes()).unwrap();
    }
    let mut got = serde_json::Value::Null;
    for _ in 0..50 {
        got = t.ok("clipboard_files", json!({}));
        if got.as_array().is_some_and(|a| !a.is_empty()) {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let _ = owner.kill();
    let _ = owner.wait();
    assert_eq!(
        got,
        json!([a.display().to_string(), b.display().to_string()])
    );
    // Text is not a file list.
    t.app
        .clipboard()
        .write_text("https://example.test/a.jpg")
        .unwrap();
    assert_eq!(t.ok("clipboard_files", json!({})), json!([]));
}

/// A drop bigger than the `dropLimit` setting queues that many files and no more (the
/// engine's tests cover batching, order and Stop; this is the command's side).
#[test]
fn a_drop_stops_at_the_drop_limit_setting_and_stop_is_a_command() {
    let t = TestApp::new();
    let mut s = t.ok("settings_get", json!({}));
    s["dropLimit"] = json!(3);
    t.ok("settings_set", json!({ "settings": s }));
    let dir = tempfile::tempdir().unwrap();
    for i in 0..5 {
        png(dir.path(), &format!("p{i}.png"), 4, 4);
    }
    let ids = t.ok(
        "queue_add_paths",
        json!({ "paths": [dir.path()], "account": "library", "origin": "drop" }),
    );
    assert_eq!(ids.as_array().unwrap().len(), 3, "{ids}");
    // Nothing is being added now: Stop is harmless, and the next drop is not stopped.
    t.ok("queue_add_stop", json!({}));
    let ids = t.ok(
        "queue_add_paths",
        json!({ "paths": [dir.path().join("p4.png")], "account": "library", "origin": "drop" }),
    );
    assert_eq!(ids.as_array().unwrap().len(), 1);
}

#[test]
fn a_drop_or_a_paste_to_several_destinations_is_a_job_per_file_and_destination() {
    let t = TestApp::new();
    let archive = tempfile::tempdir().unwrap();
    t.ok(
        "account_add",
        json!({ "name": "archive", "kind": "local", "options": { "dir": archive.path() }, "secret": null }),
    );
    let src = tempfile::tempdir().unwrap();
    png(src.path(), "a.png", 4, 4);
    png(src.path(), "b.png", 5, 5);
    let ids = t.ok(
        "queue_add_paths",
        json!({ "paths": [src.path()], "account": "library", "origin": "drop", "also": ["archive", "library"] }),
    );
    assert_eq!(
        ids.as_array().unwrap().len(),
        4,
        "two files, two destinations: {ids}"
    );
    let origin = &fakes().origin;
    origin.serve(
        "/fanout/cat.png",
        std::fs::read(png(t.home(), "c.png", 8, 8)).unwrap(),
        "image/png",
    );
    let res = t.ok(
        "queue_add_urls",
        json!({ "text": format!("{}\nnot a url", origin.url("/fanout/cat.png")), "account": "library", "also": ["archive"] }),
    );
    assert_eq!(res["jobs"].as_array().unwrap().len(), 2);
    assert_eq!(
        res["invalid"].as_array().unwrap().len(),
        1,
        "the bad line once"
    );
    let jobs = t.wait_jobs(30, |j| j.len() == 6 && all_final(j));
    let mut got: Vec<(String, String)> = jobs
        .iter()
        .map(|j| {
            assert_eq!(j["status"], "succeeded", "{j:#}");
            (
                j["name"].as_str().unwrap().to_string(),
                j["account"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    got.sort();
    let want: Vec<(String, String)> = ["a.png", "b.png", "cat.png"]
        .iter()
        .flat_map(|n| ["archive", "library"].map(|a| (n.to_string(), a.to_string())))
        .collect();
    assert_eq!(got, want);
    let (code, _) = t.err(
        "queue_add_paths",
        json!({ "paths": [src.path()], "account": "library", "origin": "drop", "also": ["nope"] }),
    );
    assert_eq!(code, "config.unknown_account");
}

/// "Move to top" and "small files first" through the commands the queue screen calls:
/// with one file at a time, the library fills in the order they say.
#[test]
fn queue_move_to_top_and_queue_order_set_decide_what_starts_next() {
    let home = tempfile::tempdir().unwrap();
    std::fs::write(
        home.path().join("config.toml"),
        "[settings]\nconcurrency = 1\ncopy_after_upload = false\n",
    )
    .unwrap();
    let src = tempfile::tempdir().unwrap();
    let files: Vec<_> = [(60, 60), (10, 10), (40, 40), (20, 20)]
        .iter()
        .enumerate()
        .map(|(i, (w, h))| png(src.path(), &format!("f{i}.png"), *w, *h))
        .collect();
    // Queued and paused before the app starts, so none starts before the commands ran.
    let ids = {
        let e = ferry_core::Engine::with_secret_store(
            ferry_core::config::Home::at(home.path()),
            std::sync::Arc::new(ferry_core::secrets::MemoryStore::default()),
        )
        .unwrap();
        let ids = e.enqueue_paths(&files, "library", "drop", false).unwrap();
        e.pause(ferry_core::Selector::All).unwrap();
        ids
    };
    let t = TestApp::in_home(home);
    assert_eq!(t.ok("queue_order_get", json!({})), "added");
    assert_eq!(
        t.ok("queue_order_set", json!({ "order": "small-first" })),
        "small-first"
    );
    let (code, message) = t.err("queue_order_set", json!({ "order": "largest" }));
    assert_eq!(code, "input.invalid");
    assert!(message.contains("small-first"), "{message}");
    assert_eq!(t.ok("queue_move_to_top", json!({ "ids": [ids[2]] })), 1);
    assert_eq!(
        t.err("queue_move_to_top", json!({ "ids": [] })).0,
        "input.empty"
    );
    assert_eq!(
        t.err("queue_move_to_top", json!({ "ids": [ids[0], 987654] }))
            .0,
        "queue.not_found"
    );
    let jobs = t.jobs();
    let moved = jobs.iter().find(|j| j["id"] == ids[2]).unwrap();
    assert!(moved["priority"].as_i64().unwrap() > 0, "{moved:#}");
    t.ok("queue_control", json!({ "action": "resume", "id": null }));
    t.wait_jobs(20, all_final);
    let items = t.ok("library_list", json!({ "filter": {} }))["items"].clone();
    let mut sent: Vec<i64> = items
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["job_id"].as_i64().unwrap())
        .collect();
    sent.reverse();
    // The moved job, then the rest by their size on disk.
    let mut rest: Vec<(u64, i64)> = [0, 1, 3]
        .iter()
        .map(|&i| (std::fs::metadata(&files[i]).unwrap().len(), ids[i]))
        .collect();
    rest.sort();
    let expected: Vec<i64> = std::iter::once(ids[2])
        .chain(rest.into_iter().map(|(_, id)| id))
        .collect();
    assert_eq!(sent, expected);
    assert_ne!(expected, ids, "the order differs from the order added");
}

/// The machine goes offline (NetworkManager, a stand-in on a private system bus, says
/// disconnected) and the destination cannot be reached: the job waits as offline and the
/// queue header has the reason; the network's return resumes it.
#[cfg(target_os = "linux")]
#[test]
fn an_offline_machine_holds_the_queue_with_the_reason_and_its_return_resumes_sending() {
    let bus = ferry_fakes::sysbus::SystemBus::start();
    bus.set("nm_state", serde_json::json!(20));
    let t = TestApp::on_system_bus(&bus.address);
    // A port nothing listens on, until the "network" comes back.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = closed.local_addr().unwrap();
    drop(closed);
    t.ok(
        "account_add",
        json!({
            "name": "sp",
            "kind": "synposter",
            "options": { "api_url": format!("http://{addr}/v1") },
            "secret": ferry_fakes::SYNPOSTER_KEY,
        }),
    );
    let src = tempfile::tempdir().unwrap();
    let file = png(src.path(), "a.png", 4, 4);
    t.ok(
        "queue_add_paths",
        json!({ "paths": [file], "account": "sp", "origin": "pick" }),
    );
    let jobs = t.wait_jobs(30, |j| j[0]["error"]["code"] == "network.offline");
    assert_eq!(jobs[0]["status"], "waiting_retry");
    assert_eq!(jobs[0]["attempts"], 0, "offline used no attempt");
    let info = t.ok("app_info", json!({}));
    assert_eq!(info["runner"]["hold"]["reason"], "offline", "{info}");
    assert_eq!(
        info["runner"]["hold"]["message"],
        "Offline — waiting for the network"
    );
    // Something answers there again: the probe notices, the hold ends and the job runs
    // (and fails for good here — this listener speaks no HTTP — using its one attempt).
    let back = std::net::TcpListener::bind(addr).unwrap();
    bus.set("nm_state", serde_json::json!(70));
    std::thread::spawn(move || {
        for conn in back.incoming().flatten() {
            drop(conn);
        }
    });
    let end = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while t.ok("app_info", json!({}))["runner"]["hold"] != serde_json::Value::Null {
        assert!(std::time::Instant::now() < end, "the hold did not end");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let jobs = t.wait_jobs(30, |j| j[0]["status"] == "failed");
    assert_eq!(jobs[0]["attempts"], 1, "{:?}", jobs[0]);
    assert_ne!(jobs[0]["error"]["code"], "network.offline", "{:?}", jobs[0]);
}

/// The app keeps the machine awake while it sends (logind, a stand-in on a private
/// system bus, holds Ferry's inhibitor) and lets it sleep once the queue is idle, the
/// app still running.
#[cfg(target_os = "linux")]
#[test]
fn the_app_keeps_the_machine_awake_while_sending_and_not_once_idle() {
    let bus = ferry_fakes::sysbus::SystemBus::start();
    // A fake of this test's own: its slow storage must not slow anyone else's upload.
    let rt = tokio::runtime::Runtime::new().unwrap();
    let f = rt.block_on(ferry_fakes::Fakes::start(ferry_fakes::Options::default()));
    f.synposter.push_fault(
        ferry_fakes::Fault::new(
            "/storage/",
            ferry_fakes::FaultKind::Delay(std::time::Duration::from_secs(3)),
        )
        .method("PUT"),
    );
    let t = TestApp::on_system_bus(&bus.address);
    t.ok(
        "account_add",
        json!({
            "name": "sp",
            "kind": "synposter",
            "options": { "api_url": f.synposter.api_url() },
            "secret": ferry_fakes::SYNPOSTER_KEY,
        }),
    );
    let src = tempfile::tempdir().unwrap();
    let file = png(src.path(), "a.png", 40, 40);
    t.ok(
        "queue_add_paths",
        json!({ "paths": [file], "account": "sp", "origin": "pick" }),
    );
    assert!(
        bus.wait_for(std::time::Duration::from_secs(20), |b| b.inhibitors_held()
            == 1),
        "an inhibitor while sending: {:?}",
        bus.events()
    );
    assert!(
        t.jobs()[0]["status"] != "succeeded",
        "held while the job runs"
    );
    let jobs = t.wait_jobs(30, all_final);
    assert_eq!(jobs[0]["status"], "succeeded");
    assert!(
        bus.wait_for(std::time::Duration::from_secs(20), |b| b.inhibitors_held()
            == 0),
        "released once idle: {:?}",
        bus.events()
    );
    assert_eq!(bus.events().len(), 2, "{:?}", bus.events());
}

/// With "Pause sending while on battery" on, going on battery (UPower, a stand-in on a
/// private system bus) holds the queue with the reason, and mains power lifts it.
#[cfg(target_os = "linux")]
#[test]
fn pause_on_battery_holds_the_queue_with_the_reason_until_mains_power() {
    let bus = ferry_fakes::sysbus::SystemBus::start();
    let t = TestApp::on_system_bus(&bus.address);
    let mut s = t.ok("settings_get", json!({}));
    s["pauseOnBattery"] = json!(true);
    t.ok("settings_set", json!({ "settings": s }));
    bus.set("on_battery", serde_json::json!(true));
    let hold = |t: &TestApp| t.ok("app_info", json!({}))["runner"]["hold"].clone();
    let end = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while hold(&t)["reason"] != "battery" {
        assert!(
            std::time::Instant::now() < end,
            "no battery hold: {}",
            hold(&t)
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert_eq!(
        hold(&t)["message"],
        "Paused on battery power — sending resumes when plugged in"
    );
    // Even the local library waits on battery; plugged in, it is sent.
    let src = tempfile::tempdir().unwrap();
    let file = png(src.path(), "a.png", 4, 4);
    t.ok(
        "queue_add_paths",
        json!({ "paths": [file], "account": "library", "origin": "pick" }),
    );
    std::thread::sleep(std::time::Duration::from_secs(2));
    assert_eq!(t.jobs()[0]["status"], "queued");
    bus.set("on_battery", serde_json::json!(false));
    let jobs = t.wait_jobs(20, all_final);
    assert_eq!(jobs[0]["status"], "succeeded");
    assert_eq!(hold(&t), serde_json::Value::Null);
}
