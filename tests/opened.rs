//! Files the desktop hands Ferry (Open with, launch arguments, a second launch): paths and
//! `file://` URIs are queued for the default destination, what cannot be read is left out
//! with a reason, and the window gets exactly one note per launch.

use serde_json::json;

use crate::support::{png, TestApp};

fn argv(args: &[&str]) -> Vec<String> {
    std::iter::once("ferry-app")
        .chain(args.iter().copied())
        .map(String::from)
        .collect()
}

#[test]
fn open_with_queues_paths_and_file_uris_for_the_default_destination_and_leaves_a_note() {
    let t = TestApp::new();
    let dir = tempfile::tempdir().unwrap();
    // A name a file manager percent-encodes in a URI.
    let spaced = png(dir.path(), "summer trip é.png", 8, 8);
    let plain = png(dir.path(), "plain.png", 9, 9);
    let uri = url::Url::from_file_path(&spaced).unwrap().to_string();
    assert!(uri.contains("%20"), "{uri}");
    let args = argv(&[
        "--autostart",
        &uri,
        "plain.png",
        "sftp://host/x.jpg",
        "missing.png",
    ]);

    let note = ferry_app::opened::queue(t.app.handle(), &args, dir.path()).expect("a note");
    assert_eq!(note.account, "library");
    assert_eq!(note.jobs.len(), 2, "{note:?}");
    assert_eq!(note.given, 2);
    assert_eq!(note.names, ["summer trip é.png", "plain.png"]);
    assert_eq!(note.skipped.len(), 2, "{:?}", note.skipped);
    assert!(note.skipped[0].starts_with("sftp://host/x.jpg: not a local file"));
    assert!(note.skipped[1].ends_with("missing.png: no such file or folder"));
    assert!(note.error.is_none());

    let jobs = t.wait_jobs(20, crate::support::all_final);
    let mut inputs: Vec<(&str, &str, &str)> = jobs
        .iter()
        .map(|j| {
            (
                j["input"].as_str().unwrap(),
                j["origin"].as_str().unwrap(),
                j["status"].as_str().unwrap(),
            )
        })
        .collect();
    inputs.sort();
    let mut want = [
        (plain.to_str().unwrap(), "args", "succeeded"),
        (spaced.to_str().unwrap(), "args", "succeeded"),
    ];
    want.sort();
    assert_eq!(inputs, want);

    // The window takes the note once.
    let notes = t.ok("app_opened_take", json!({}));
    assert_eq!(notes.as_array().unwrap().len(), 1, "{notes}");
    assert_eq!(notes[0]["jobs"].as_array().unwrap().len(), 2);
    assert_eq!(notes[0]["names"][0], "summer trip é.png");
    assert_eq!(t.ok("app_opened_take", json!({})), json!([]));
}

#[test]
fn a_launch_without_files_leaves_no_note_and_a_refused_one_says_why() {
    let t = TestApp::new();
    let dir = tempfile::tempdir().unwrap();
    assert!(
        ferry_app::opened::queue(t.app.handle(), &argv(&["--autostart"]), dir.path()).is_none()
    );
    assert_eq!(t.ok("app_opened_take", json!({})), json!([]));

    // A folder with nothing Ferry sends in it: nothing queued, and the note says why.
    let empty = tempfile::tempdir().unwrap();
    std::fs::write(empty.path().join("notes.txt"), b"not media").unwrap();
    let note = ferry_app::opened::queue(
        t.app.handle(),
        &argv(&[empty.path().to_str().unwrap()]),
        dir.path(),
    )
    .expect("a note");
    assert!(note.jobs.is_empty());
    assert_eq!(
        note.error.as_ref().map(|e| e.code.as_str()),
        Some("input.empty")
    );
    let notes = t.ok("app_opened_take", json!({}));
    assert_eq!(notes[0]["error"]["code"], "input.empty", "{notes}");
    assert_eq!(t.jobs(), Vec::<serde_json::Value>::new());
}

/// macOS hands files dropped on the Dock icon or sent with Open With as `file://` URLs in
/// `RunEvent::Opened` (handled in desktop.rs, compiled for macOS only): they take the
/// same way as launch arguments.
#[test]
fn files_macos_opens_with_ferry_as_urls_are_queued_like_arguments() {
    let t = TestApp::new();
    let dir = tempfile::tempdir().unwrap();
    let photo = png(dir.path(), "dock drop.png", 8, 8);
    let urls = [
        url::Url::from_file_path(&photo).unwrap(),
        url::Url::parse("https://example.test/not-a-file.png").unwrap(),
    ];
    let argv = ferry_app::opened::argv_from_urls(&urls);
    let note = ferry_app::opened::queue(t.app.handle(), &argv, dir.path()).expect("a note");
    assert_eq!(note.jobs.len(), 1, "{note:?}");
    assert_eq!(note.names, ["dock drop.png"]);
    assert_eq!(note.skipped.len(), 1, "{:?}", note.skipped);
}

/// What makes macOS offer Ferry for those files: the bundle declares images, videos and
/// folders (merged into Info.plist by the bundler), never as their default app.
#[test]
fn the_macos_bundle_declares_images_videos_and_folders_as_an_alternate_viewer() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let conf: serde_json::Value =
        serde_json::from_slice(&std::fs::read(root.join("tauri.conf.json")).unwrap()).unwrap();
    let plist = conf["bundle"]["macOS"]["infoPlist"]
        .as_str()
        .expect("infoPlist");
    let text = std::fs::read_to_string(root.join(plist)).unwrap();
    for uti in ["public.image", "public.movie", "public.folder"] {
        assert!(text.contains(&format!("<string>{uti}</string>")), "{uti}");
    }
    assert_eq!(text.matches("<string>Alternate</string>").count(), 3);
    assert!(!text.contains("<string>Owner</string>"));
}
