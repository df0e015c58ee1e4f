//! The diagnostics archive: every part is there, and nothing secret is — the test plants
//! a keychain secret, a presigned URL in a job, a tokened URL in an account option and
//! both in a raw log line, then reads every entry of the zip and finds none of them.

use std::io::Read;

use ferry_core::{Code, Kind};

use crate::support::TestEngine;

const SECRET: &str = "ss-planted-secret-9f8e7d";
const SIGNATURE: &str = "PLANTEDSIG0123456789";
const TOKEN: &str = "PLANTEDTOKEN4242";

/// Every entry of the archive at `path`, by name.
fn entries(path: &std::path::Path) -> Vec<(String, String)> {
    let mut zip = zip::ZipArchive::new(std::fs::File::open(path).unwrap()).unwrap();
    (0..zip.len())
        .map(|i| {
            let mut f = zip.by_index(i).unwrap();
            let mut text = String::new();
            f.read_to_string(&mut text).unwrap();
            (f.name().to_string(), text)
        })
        .collect()
}

#[test]
fn the_archive_holds_every_part_and_none_of_the_planted_secrets() {
    let t = TestEngine::with_account(
        Kind::Socialsyncer,
        &[("api_url", format!("http://127.0.0.1:9/v1?token={TOKEN}"))],
        Some(SECRET),
    );
    let signed =
        format!("https://bucket.example/clip.mp4?X-Amz-Signature={SIGNATURE}&X-Amz-Expires=600");
    t.engine
        .enqueue_urls(std::slice::from_ref(&signed), "dest", "paste")
        .unwrap()
        .remove(0)
        .unwrap();
    let home = t.engine.home().clone();
    std::fs::create_dir_all(&home.log_dir).unwrap();
    // An old log line written before redaction existed, or by a library Ferry does not
    // control: the archive must still not carry it out.
    std::fs::write(
        home.log_dir.join("ferry.log.1"),
        format!("GET {signed} Authorization: Bearer {SECRET}\nan ordinary line\n"),
    )
    .unwrap();

    let out = t.dir.path().join("diag.zip");
    let report = t.engine.diagnostics(&out).unwrap();
    assert_eq!(report.path, out);
    let all = entries(&out);
    let names: Vec<&str> = all.iter().map(|(n, _)| n.as_str()).collect();
    for want in [
        "README.txt",
        "about.json",
        "settings.json",
        "accounts.json",
        "jobs.json",
        "watch.json",
        "checks.json",
        "logs/ferry.log.1",
    ] {
        assert!(names.contains(&want), "{want} missing from {names:?}");
    }
    assert_eq!(names, report.entries);
    for (name, text) in &all {
        for planted in [SECRET, SIGNATURE, TOKEN] {
            assert!(!text.contains(planted), "{name} carries {planted}:\n{text}");
        }
    }
    let get = |n: &str| &all.iter().find(|(name, _)| name == n).unwrap().1;
    let log = get("logs/ferry.log.1");
    assert!(
        log.contains("[secret removed]")
            && log.contains("[redacted]")
            && log.contains("an ordinary line"),
        "{log}"
    );
    let jobs: serde_json::Value = serde_json::from_str(get("jobs.json")).unwrap();
    assert_eq!(jobs["open"][0]["status"], "queued");
    assert!(jobs["open"][0]["input"]
        .as_str()
        .unwrap()
        .starts_with("https://bucket.example/clip.mp4"));
    let accounts: serde_json::Value = serde_json::from_str(get("accounts.json")).unwrap();
    let dest = accounts
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == "dest")
        .unwrap();
    assert_eq!(dest["kind"], "socialsyncer");
    assert_eq!(dest["secret"], "keychain");
    let checks: serde_json::Value = serde_json::from_str(get("checks.json")).unwrap();
    assert_eq!(checks["keychain"]["ok"], true);
    assert_eq!(checks["database"]["quick_check"], "ok");
    assert!(checks["disk"][0]["free_bytes"].as_u64().unwrap() > 0);
    let about: serde_json::Value = serde_json::from_str(get("about.json")).unwrap();
    assert_eq!(about["os"], std::env::consts::OS);
}

#[test]
fn a_missing_folder_or_a_folder_as_the_file_is_refused_and_nothing_is_left() {
    let t = TestEngine::with_account(Kind::Local, &[], None);
    let e = t
        .engine
        .diagnostics(&t.dir.path().join("no/such/diag.zip"))
        .unwrap_err();
    assert_eq!(e.code, Code::InputNotFound, "{}", e.message);
    let e = t.engine.diagnostics(t.dir.path()).unwrap_err();
    assert_eq!(e.code, Code::InputInvalid, "{}", e.message);
    assert!(e.message.contains("ferry-diagnostics.zip"), "{}", e.message);
    let left: Vec<_> = std::fs::read_dir(t.dir.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert_eq!(
        left,
        vec![std::ffi::OsString::from("home")],
        "no temp file left behind"
    );
}
