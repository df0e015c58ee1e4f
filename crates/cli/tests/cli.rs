//! The `ferry` command as other tools and people use it: every subcommand, the JSON
//! shape, exit codes (0 / 1 / 2), bad inputs, and secrets kept out of output and logs.
//! The binary runs for real against the fakes on loopback.

use std::path::{Path, PathBuf};
use std::process::Output;

use assert_cmd::Command;
use ferry_fakes::{Fakes, Options};
use serde_json::Value;

struct Home {
    dir: tempfile::TempDir,
}

impl Home {
    fn new() -> Home {
        Home {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn path(&self) -> PathBuf {
        self.dir.path().join("home")
    }

    fn cmd(&self) -> Command {
        let mut c = Command::cargo_bin("ferry").unwrap();
        c.arg("--home").arg(self.path());
        c.env_remove("FERRY_HOME");
        c
    }

    fn file(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let p = self.dir.path().join("in").join(name);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, bytes).unwrap();
        p
    }
}

fn png(n: usize) -> Vec<u8> {
    let mut v = vec![0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a];
    v.extend((0..n).map(|i| (i * 31 % 251) as u8));
    v
}

fn mp4(n: usize) -> Vec<u8> {
    let mut v = vec![
        0, 0, 0, 0x18, b'f', b't', b'y', b'p', b'i', b's', b'o', b'm', 0, 0, 2, 0, b'i', b's',
        b'o', b'm', b'i', b's', b'o', b'2',
    ];
    v.extend((0..n).map(|i| (i * 7 % 253) as u8));
    v
}

/// Run a command off the async runtime so the fakes keep serving.
async fn run(mut cmd: Command) -> Output {
    tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap()
}

fn json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is one JSON document ({e}):\n{}\nstderr:\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

async fn add_synposter(h: &Home, f: &Fakes, name: &str) {
    let mut c = h.cmd();
    c.args(["account", "add", name, "synposter"])
        .arg(format!("api_url={}", f.synposter.api_url()))
        .args(["--secret-env", "FERRY_TEST_SYNPOSTER_KEY"]);
    let out = run(c).await;
    assert!(out.status.success(), "{}", stderr(&out));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upload_works_on_a_fresh_install_with_the_default_library() {
    let h = Home::new();
    let p = h.file("photo.png", &png(1000));
    let mut c = h.cmd();
    c.arg("upload").arg(&p);
    let out = run(c).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.starts_with("ok ") && text.contains("file://"),
        "{text}"
    );
    let stored = ferry_files(&h.path().join("library"));
    assert_eq!(stored.len(), 1);
    assert_eq!(std::fs::read(&stored[0]).unwrap(), png(1000));
}

fn ferry_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = vec![];
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            if e.path().is_dir() {
                stack.push(e.path())
            } else {
                out.push(e.path())
            }
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upload_json_has_one_element_per_input_in_order_and_exit_1_when_one_fails() {
    let f = Fakes::start(Options::default()).await;
    let h = Home::new();
    add_synposter(&h, &f, "sp").await;
    let good = h.file("good.png", &png(2000));
    let text = h.file("fake.png", b"plain text pretending to be a png");
    let mut c = h.cmd();
    c.args(["upload", "--to", "sp", "--json"])
        .arg(&good)
        .arg(h.dir.path().join("missing.png"))
        .arg(&text)
        .env("FERRY_TEST_SYNPOSTER_KEY", ferry_fakes::SYNPOSTER_KEY);
    let out = run(c).await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let v = json(&out);
    let arr = v.as_array().unwrap();
    assert_eq!(arr.len(), 3);
    assert_eq!(arr[0]["input"], good.display().to_string());
    assert_eq!(arr[0]["ok"], true);
    assert_eq!(arr[0]["error"], Value::Null);
    let m = &arr[0]["media"][0];
    for key in [
        "id",
        "name",
        "url",
        "mime_type",
        "size",
        "status",
        "expires_at",
    ] {
        assert!(m.get(key).is_some(), "media has `{key}`: {m}");
    }
    assert_eq!(m["name"], "good.png");
    assert_eq!(m["mime_type"], "image/png");
    assert_eq!(m["size"], 2008);
    assert_eq!(m["status"], "ready");
    assert_eq!(arr[1]["ok"], false);
    assert_eq!(arr[1]["error"]["code"], "input.not_found");
    assert_eq!(arr[1]["media"], serde_json::json!([]));
    assert_eq!(arr[2]["error"]["code"], "input.unsupported_type");
    assert_eq!(f.synposter.objects().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn account_add_refuses_bad_options_with_exit_2() {
    let h = Home::new();
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec![
                "account",
                "add",
                "a",
                "synposter",
                "api_key=sk_live_abc",
                "--secret-env",
                "X",
            ],
            "secret",
        ),
        (
            vec![
                "account",
                "add",
                "a",
                "synposter",
                "colour=blue",
                "--secret-env",
                "X",
            ],
            "no option `colour`",
        ),
        (
            vec!["account", "add", "a", "postsyncer", "--secret-env", "X"],
            "workspace_id",
        ),
        (
            vec!["account", "add", "a", "dropbox"],
            "unknown account kind",
        ),
        (vec!["account", "add", "a", "synposter"], "--secret-stdin"),
        (
            vec!["account", "add", "bad name", "local"],
            "not a valid account name",
        ),
        (vec!["account", "add", "library", "local"], "exists"),
    ];
    for (args, needle) in cases {
        let mut c = h.cmd();
        c.args(&args);
        let out = run(c).await;
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(stderr(&out).contains(needle), "{args:?}: {}", stderr(&out));
        assert!(
            !stderr(&out).contains("sk_live_abc"),
            "the secret is not echoed"
        );
    }
    let config = std::fs::read_to_string(h.path().join("config.toml")).unwrap_or_default();
    assert!(!config.contains("sk_live_abc"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_account_is_a_configuration_error() {
    let h = Home::new();
    let p = h.file("a.png", &png(10));
    let mut c = h.cmd();
    c.args(["upload", "--to", "nope", "--json"]).arg(&p);
    let out = run(c).await;
    assert_eq!(out.status.code(), Some(2));
    let v = json(&out);
    assert_eq!(v[0]["error"]["code"], "config.unknown_account");
    assert!(stderr(&out).contains("ferry account list"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_secret_env_account_lists_without_its_value_and_needs_the_variable() {
    let f = Fakes::start(Options::default()).await;
    let h = Home::new();
    add_synposter(&h, &f, "sp").await;
    let mut c = h.cmd();
    c.args(["account", "list", "--json"]);
    let out = run(c).await;
    let v = json(&out);
    let sp = v
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == "sp")
        .unwrap()
        .clone();
    assert_eq!(sp["secret"], "env:FERRY_TEST_SYNPOSTER_KEY");
    assert_eq!(sp["kind"], "synposter");
    let lib = v
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == "library")
        .unwrap()
        .clone();
    assert_eq!(lib["default"], true);

    let p = h.file("a.png", &png(10));
    let mut c = h.cmd();
    c.args(["upload", "--to", "sp"])
        .arg(&p)
        .env_remove("FERRY_TEST_SYNPOSTER_KEY");
    let out = run(c).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("FERRY_TEST_SYNPOSTER_KEY"),
        "{}",
        stderr(&out)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn account_test_passes_with_a_good_key_and_fails_with_a_bad_one() {
    let f = Fakes::start(Options::default()).await;
    let h = Home::new();
    add_synposter(&h, &f, "sp").await;
    let mut c = h.cmd();
    c.args(["account", "test", "sp"])
        .env("FERRY_TEST_SYNPOSTER_KEY", ferry_fakes::SYNPOSTER_KEY);
    let out = run(c).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let mut c = h.cmd();
    c.args(["account", "test", "sp"]).env(
        "FERRY_TEST_SYNPOSTER_KEY",
        "sk_live_wrongwrongwrongwrongwrongwrong00",
    );
    let out = run(c).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("auth.invalid"), "{}", stderr(&out));
    assert!(!stderr(&out).contains("wrongwrong"));
    let mut c = h.cmd();
    c.args(["account", "remove", "sp"]);
    assert!(run(c).await.status.success());
    let mut c = h.cmd();
    c.args(["account", "test", "sp"]);
    assert_eq!(run(c).await.status.code(), Some(2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn import_refuses_bad_urls_and_forwards_good_ones() {
    let f = Fakes::start(Options::default()).await;
    f.origin.serve("/img/cat.png", png(5000), "image/png");
    let h = Home::new();
    add_synposter(&h, &f, "sp").await;
    let mut c = h.cmd();
    c.args(["import", "--to", "sp", "--json", "javascript:alert(1)"])
        .arg(f.origin.url("/img/cat.png"))
        .arg("ftp://example.com/a.png")
        .env("FERRY_TEST_SYNPOSTER_KEY", ferry_fakes::SYNPOSTER_KEY);
    let out = run(c).await;
    assert_eq!(out.status.code(), Some(1));
    let v = json(&out);
    assert_eq!(v[0]["error"]["code"], "input.invalid_url");
    assert_eq!(v[1]["ok"], true);
    assert_eq!(v[1]["media"][0]["name"], "cat.png");
    assert_eq!(v[2]["error"]["code"], "input.invalid_url");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn library_lists_what_was_sent_and_remote_lists_the_destination() {
    let f = Fakes::start(Options::default()).await;
    let h = Home::new();
    let mut c = h.cmd();
    c.args(["account", "add", "ps", "postsyncer"])
        .arg(format!("api_url={}", f.postsyncer.api_url()))
        .arg(format!("upload_url={}", f.postsyncer.upload_url().unwrap()))
        .arg(format!(
            "workspace_id={}",
            ferry_fakes::POSTSYNCER_WORKSPACE_ID
        ))
        .args(["--secret-env", "FERRY_TEST_PS"]);
    assert!(run(c).await.status.success());
    let a = h.file("a.png", &png(100));
    let b = h.file("b.png", &png(200));
    let mut c = h.cmd();
    c.args(["upload", "--to", "ps"])
        .arg(&a)
        .env("FERRY_TEST_PS", ferry_fakes::POSTSYNCER_TOKEN);
    assert!(run(c).await.status.success());
    let mut c = h.cmd();
    c.arg("upload").arg(&b);
    assert!(run(c).await.status.success());

    let mut c = h.cmd();
    c.args(["library", "--json"]);
    let all = json(&run(c).await);
    assert_eq!(all.as_array().unwrap().len(), 2);
    assert_eq!(all[0]["name"], "b.png", "newest first");
    let mut c = h.cmd();
    c.args(["library", "--account", "ps", "--json"]);
    let ps = json(&run(c).await);
    assert_eq!(ps.as_array().unwrap().len(), 1);
    assert_eq!(ps[0]["account"], "ps");

    let mut c = h.cmd();
    c.args(["library", "remote", "ps", "--json"])
        .env("FERRY_TEST_PS", ferry_fakes::POSTSYNCER_TOKEN);
    let out = run(c).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let remote = json(&out);
    assert_eq!(remote.as_array().unwrap().len(), 1);
    assert_eq!(remote[0]["name"], "a.png");

    add_synposter(&h, &f, "sp").await;
    let mut c = h.cmd();
    c.args(["library", "remote", "sp"])
        .env("FERRY_TEST_SYNPOSTER_KEY", ferry_fakes::SYNPOSTER_KEY);
    let out = run(c).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("does not support listing"),
        "{}",
        stderr(&out)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wait_follows_fastpix_processing_until_ready() {
    let f = Fakes::start(Options::default()).await;
    let h = Home::new();
    let mut c = h.cmd();
    c.args(["account", "add", "fp", "fastpix"])
        .arg(format!("api_url={}", f.fastpix.api_url()))
        .arg(format!("token_id={}", ferry_fakes::FASTPIX_TOKEN_ID))
        .args(["--secret-env", "FERRY_TEST_FP"]);
    assert!(run(c).await.status.success());
    let clip = h.file("clip.mp4", &mp4(50_000));
    let mut c = h.cmd();
    c.args(["upload", "--to", "fp", "--wait", "--json"])
        .arg(&clip)
        .env("FERRY_TEST_FP", ferry_fakes::FASTPIX_SECRET);
    let out = run(c).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let v = json(&out);
    assert_eq!(v[0]["media"][0]["status"], "ready");
    let other = h.file("other.mp4", &mp4(60_000));
    let mut c = h.cmd();
    c.args(["upload", "--to", "fp", "--json"])
        .arg(&other)
        .env("FERRY_TEST_FP", ferry_fakes::FASTPIX_SECRET);
    let v = json(&run(c).await);
    assert_eq!(
        v[0]["media"][0]["status"], "processing",
        "without --wait it returns at once"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verbose_logs_never_show_the_key_or_a_presigned_query() {
    let f = Fakes::start(Options::default()).await;
    // Make the upload retry so the log has something to say.
    f.synposter.push_fault(ferry_fakes::Fault::new(
        "/storage/",
        ferry_fakes::FaultKind::Status(503),
    ));
    let h = Home::new();
    add_synposter(&h, &f, "sp").await;
    let p = h.file("a.png", &png(100));
    let mut c = h.cmd();
    c.args(["-vv", "upload", "--to", "sp", "--json"])
        .arg(&p)
        .env("FERRY_TEST_SYNPOSTER_KEY", ferry_fakes::SYNPOSTER_KEY);
    let out = run(c).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("retrying"),
        "the log says what happened: {err}"
    );
    assert!(!err.contains(ferry_fakes::SYNPOSTER_KEY));
    assert!(!err.contains("token="), "no presigned query in logs: {err}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!stdout.contains(ferry_fakes::SYNPOSTER_KEY));
}

/// The keychain path end to end: needs a running, unlocked Secret Service (the README's
/// test command starts gnome-keyring under dbus-run-session).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secret_stdin_stores_the_key_in_the_keychain_and_remove_deletes_it() {
    let f = Fakes::start(Options::default()).await;
    let h = Home::new();
    let name = format!("cli-kc-{}", std::process::id());
    let mut c = h.cmd();
    c.args(["account", "add", &name, "synposter"])
        .arg(format!("api_url={}", f.synposter.api_url()))
        .arg("--secret-stdin")
        .write_stdin(format!("{}\n", ferry_fakes::SYNPOSTER_KEY));
    let out = run(c).await;
    assert!(out.status.success(), "{}", stderr(&out));
    // Where it is, by the platform's own tool (Linux; elsewhere the upload below, a new
    // process, finding it is the proof).
    #[cfg(target_os = "linux")]
    {
        let look = std::process::Command::new("secret-tool")
            .args(["lookup", "service", "ferry", "username", &name])
            .output()
            .unwrap();
        assert_eq!(
            String::from_utf8_lossy(&look.stdout).trim(),
            ferry_fakes::SYNPOSTER_KEY
        );
    }
    for file in ferry_files(&h.path()) {
        assert!(!std::fs::read_to_string(&file)
            .unwrap_or_default()
            .contains(ferry_fakes::SYNPOSTER_KEY));
    }
    let p = h.file("a.png", &png(100));
    let mut c = h.cmd();
    c.args(["upload", "--to", &name]).arg(&p);
    let out = run(c).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let mut c = h.cmd();
    c.args(["account", "remove", &name]);
    assert!(run(c).await.status.success());
    #[cfg(target_os = "linux")]
    {
        let look = std::process::Command::new("secret-tool")
            .args(["lookup", "service", "ferry", "username", &name])
            .output()
            .unwrap();
        assert!(!look.status.success() || look.stdout.is_empty());
    }
}

// Linux only: the Secret Service is made unreachable through the session bus address.
#[cfg(target_os = "linux")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_keychain_is_a_clear_error_and_nothing_is_written() {
    let h = Home::new();
    let mut c = h.cmd();
    c.args(["account", "add", "k", "synposter", "--secret-stdin"])
        .env(
            "DBUS_SESSION_BUS_ADDRESS",
            "unix:path=/nonexistent/ferry-test-bus",
        )
        .write_stdin("sk_live_neverstored\n");
    let out = run(c).await;
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("keychain"), "{err}");
    assert!(err.contains("--secret-env"), "says what to do: {err}");
    assert!(!err.contains("sk_live_neverstored"));
    assert!(
        !h.path().join("config.toml").exists(),
        "no plaintext fallback, no half-added account"
    );
}

// Unix only: Windows file names cannot hold control characters.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn control_characters_in_names_and_messages_are_printed_escaped() {
    let h = Home::new();
    // A name that would clear the screen and rewrite the line (ESC, CR, BEL).
    let image = h.file("evil\u{1b}[2Jname\r\u{7}.png", &png(1000));
    let mut c = h.cmd();
    c.arg("upload").arg(&image);
    let out = run(c).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    for raw in ['\u{1b}', '\r', '\u{7}'] {
        assert!(!text.contains(raw), "{raw:?} printed raw: {text:?}");
    }
    assert!(text.contains("evil\\x1b[2Jname\\x0d\\x07.png"), "{text}");

    let mut c = h.cmd();
    c.arg("library");
    let out = run(c).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(!text.contains('\u{1b}') && !text.contains('\r'), "{text:?}");
    assert!(text.contains("evil\\x1b[2Jname\\x0d\\x07.png"), "{text}");

    // An error message naming it.
    let mut c = h.cmd();
    c.arg("upload").arg(h.dir.path().join("gone\u{1b}[31m.png"));
    let out = run(c).await;
    assert_eq!(out.status.code(), Some(1));
    let err = format!("{}{}", String::from_utf8_lossy(&out.stdout), stderr(&out));
    assert!(!err.contains('\u{1b}'), "{err:?}");
    assert!(err.contains("gone\\x1b[31m.png"), "{err}");

    // JSON keeps the exact name, escaped by serde.
    let mut c = h.cmd();
    c.args(["library", "--json"]);
    let out = run(c).await;
    let v = json(&out);
    assert_eq!(v[0]["name"], "evil\u{1b}[2Jname\r\u{7}.png");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_import_of_a_signed_url_shows_it_without_its_query() {
    let f = Fakes::start(Options::default()).await;
    let h = Home::new();
    let url = f
        .origin
        .url("/missing.png?X-Amz-Signature=secret-sig&X-Amz-Credential=secret-cred");
    for json_flag in [false, true] {
        let mut c = h.cmd();
        c.args(["-v", "import"]).arg(&url);
        if json_flag {
            c.arg("--json");
        }
        let out = run(c).await;
        assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
        let all = format!("{}{}", String::from_utf8_lossy(&out.stdout), stderr(&out));
        assert!(!all.contains("secret"), "the query was shown: {all}");
        assert!(all.contains("/missing.png?[redacted]"), "{all}");
    }
}

#[test]
fn version_is_the_workspace_version() {
    // Read from the root Cargo.toml, the one place the version is written (the packages
    // and the app's About take it from there too).
    let manifest =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../Cargo.toml"))
            .expect("the root Cargo.toml");
    let table: toml::Table = manifest.parse().expect("Cargo.toml parses");
    let version = table["workspace"]["package"]["version"].as_str().unwrap();
    let out = Command::cargo_bin("ferry")
        .unwrap()
        .arg("--version")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        format!("ferry {version}\n")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn diagnostics_writes_a_zip_without_the_env_secret_and_refuses_a_missing_folder() {
    let f = Fakes::start(Options::default()).await;
    let h = Home::new();
    add_synposter(&h, &f, "sp").await;
    // A log line that quotes the key (as an old build or a library might have).
    let logs = h.path().join("logs");
    std::fs::create_dir_all(&logs).unwrap();
    std::fs::write(
        logs.join("ferry.log"),
        format!("sent with key {}\n", ferry_fakes::SYNPOSTER_KEY),
    )
    .unwrap();
    let out_zip = h.dir.path().join("diag.zip");
    let mut c = h.cmd();
    c.args(["diagnostics", "--json", "--out"])
        .arg(&out_zip)
        .env("FERRY_TEST_SYNPOSTER_KEY", ferry_fakes::SYNPOSTER_KEY);
    let out = run(c).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let v = json(&out);
    assert!(v["entries"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e == "logs/ferry.log"));
    let mut zip = zip::ZipArchive::new(std::fs::File::open(&out_zip).unwrap()).unwrap();
    let mut log = String::new();
    std::io::Read::read_to_string(&mut zip.by_name("logs/ferry.log").unwrap(), &mut log).unwrap();
    assert_eq!(log, "sent with key [secret removed]\n");

    let mut c = h.cmd();
    c.args(["diagnostics", "--out"])
        .arg(h.dir.path().join("no/such/folder/d.zip"));
    let out = run(c).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("no such folder"), "{}", stderr(&out));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bwlimit_holds_an_upload_to_its_rate_and_a_bad_one_is_refused_before_anything_is_queued() {
    let f = Fakes::start(Options::default()).await;
    let h = Home::new();
    add_synposter(&h, &f, "sp").await;
    let p = h.file("slow.png", &png(640 * 1024));

    let mut c = h.cmd();
    c.args(["upload", "--to", "sp", "--bwlimit", "fast"])
        .arg(&p);
    let out = run(c).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("`fast` is not a rate"),
        "{}",
        stderr(&out)
    );
    let mut c = h.cmd();
    c.args(["queue", "list", "--json", "--all"]);
    assert_eq!(json(&run(c).await), serde_json::json!([]), "nothing queued");

    let started = std::time::Instant::now();
    let mut c = h.cmd();
    c.args(["upload", "--to", "sp", "--bwlimit", "256k"])
        .arg(&p)
        .env("FERRY_TEST_SYNPOSTER_KEY", ferry_fakes::SYNPOSTER_KEY);
    let out = run(c).await;
    assert!(out.status.success(), "{}", stderr(&out));
    // 640 KiB at 256 KiB/s: 2.5 s on any machine (loopback alone takes milliseconds).
    let took = started.elapsed();
    assert!(
        took >= std::time::Duration::from_secs(2),
        "sent in {took:?}"
    );

    // The setting, as config.toml holds it; `queue list` says what holds.
    let config = h.path().join("config.toml");
    let text = std::fs::read_to_string(&config).unwrap();
    assert!(text.contains("bwlimit = \"off\""), "{text}");
    std::fs::write(
        &config,
        text.replace("bwlimit = \"off\"", "bwlimit = \"0\""),
    )
    .unwrap();
    let mut c = h.cmd();
    c.args(["queue", "list"]);
    let out = run(c).await;
    let listed = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        listed.contains("bandwidth: waiting — the limit \"0\" is 0 now; nothing is sent until the limit changes"),
        "{listed}"
    );
    std::fs::write(
        &config,
        text.replace("bwlimit = \"off\"", "bwlimit = \"4M\""),
    )
    .unwrap();
    let mut c = h.cmd();
    c.args(["queue", "list"]);
    let listed = String::from_utf8_lossy(&run(c).await.stdout).into_owned();
    assert!(listed.contains("bandwidth: at most 4M/s"), "{listed}");
    std::fs::write(
        &config,
        text.replace("bwlimit = \"off\"", "bwlimit = \"4 M\""),
    )
    .unwrap();
    let mut c = h.cmd();
    c.args(["queue", "list"]);
    let out = run(c).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("is not valid: `bwlimit`"),
        "{}",
        stderr(&out)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_accounts_own_zero_is_named_by_queue_list_and_by_an_upload_to_it() {
    let f = Fakes::start(Options::default()).await;
    let h = Home::new();
    add_synposter(&h, &f, "sp").await;
    let mut c = h.cmd();
    c.args(["account", "add", "night", "synposter", "bwlimit=0"])
        .arg(format!("api_url={}", f.synposter.api_url()))
        .args(["--secret-env", "FERRY_TEST_SYNPOSTER_KEY"]);
    let added = run(c).await;
    assert!(added.status.success(), "{}", stderr(&added));
    let line = "bandwidth: jobs to night wait — its limit \"0\" is 0 now; nothing goes there until its limit changes";
    let mut c = h.cmd();
    c.args(["queue", "list"]);
    let listed = String::from_utf8_lossy(&run(c).await.stdout).into_owned();
    assert!(listed.contains(line), "{listed}");
    assert!(
        !listed.contains("bandwidth: waiting"),
        "Ferry itself may send: {listed}"
    );
    // An upload elsewhere does not mention it; one to it says why it waits.
    let p = h.file("a.png", &png(1000));
    let mut c = h.cmd();
    c.args(["upload", "--to", "sp"])
        .arg(&p)
        .env("FERRY_TEST_SYNPOSTER_KEY", ferry_fakes::SYNPOSTER_KEY);
    let out = run(c).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!stderr(&out).contains("night"), "{}", stderr(&out));
    let mut c = std::process::Command::new(assert_cmd::cargo::cargo_bin("ferry"));
    c.arg("--home")
        .arg(h.path())
        .env_remove("FERRY_HOME")
        .args(["upload", "--to", "night"])
        .arg(&p)
        .env("FERRY_TEST_SYNPOSTER_KEY", ferry_fakes::SYNPOSTER_KEY)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped());
    // It waits for the limit to lift: read its first line, then end it.
    let mut child = c.spawn().unwrap();
    let mut err = child.stderr.take().unwrap();
    let want = format!("ferry: {line}");
    let n = want.len();
    let read = tokio::task::spawn_blocking(move || {
        let mut first = vec![0u8; n];
        std::io::Read::read_exact(&mut err, &mut first).map(|()| first)
    });
    let first = tokio::time::timeout(std::time::Duration::from_secs(20), read).await;
    let _ = child.kill();
    let _ = child.wait();
    let first = first.expect("a first line within 20 s").unwrap().unwrap();
    assert_eq!(String::from_utf8_lossy(&first), want);
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_batch_the_destinations_command_gets_the_links_and_qr_prints_a_code() {
    let h = Home::new();
    let out = h.dir.path().join("links.txt");
    let mut c = h.cmd();
    c.args(["account", "add", "lib", "local"])
        .arg(format!("dir={}", h.dir.path().join("lib").display()))
        .arg("after_batch=qr")
        .arg(format!(
            "after_command=sh -c 'printf \"%s\\n\" \"$@\" > {}; echo ran' sh",
            out.display()
        ));
    let added = run(c).await;
    assert!(added.status.success(), "{}", stderr(&added));
    let a = h.file("a.png", &png(1000));
    let b = h.file("b.png", &png(2000));
    let mut c = h.cmd();
    c.args(["upload", "--to", "lib", "--json"]).arg(&a).arg(&b);
    let up = run(c).await;
    assert!(up.status.success(), "{}", stderr(&up));
    // stdout stays one JSON document: the command's output went to stderr.
    let v = json(&up);
    let urls: Vec<String> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["media"][0]["url"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        std::fs::read_to_string(&out).unwrap(),
        format!("{}\n{}\n", urls[0], urls[1])
    );
    let err = stderr(&up);
    assert!(err.contains("QR code of 2 link(s) to lib:"), "{err}");
    assert!(err.contains("ran"), "{err}");

    // A mistake in the options is refused when the account is added.
    let mut c = h.cmd();
    c.args(["account", "add", "bad", "local", "after_batch=tweet"]);
    let bad = run(c).await;
    assert_eq!(bad.status.code(), Some(2));
    assert!(stderr(&bad).contains("`tweet`"), "{}", stderr(&bad));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_upload_to_several_destinations_is_a_job_each_and_dedupe_stays_per_destination() {
    let f = Fakes::start(Options::default()).await;
    let h = Home::new();
    add_synposter(&h, &f, "sp").await;
    add_synposter(&h, &f, "sp2").await;
    let a = h.file("a.png", &png(3000));
    let b = h.file("b.png", &png(4000));
    let mut c = h.cmd();
    c.args(["upload", "--to", "library,sp", "--json"])
        .arg(&a)
        .arg(&b)
        .env("FERRY_TEST_SYNPOSTER_KEY", ferry_fakes::SYNPOSTER_KEY);
    let out = run(c).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let v = json(&out);
    let got: Vec<(String, String, bool)> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            (
                // The file name, whatever the platform's separator.
                Path::new(o["input"].as_str().unwrap())
                    .file_name()
                    .unwrap()
                    .to_string_lossy()
                    .into_owned(),
                o["account"].as_str().unwrap().to_string(),
                o["ok"].as_bool().unwrap(),
            )
        })
        .collect();
    let want = |i: &str, a: &str| (i.to_string(), a.to_string(), true);
    assert_eq!(
        got,
        vec![
            want("a.png", "library"),
            want("a.png", "sp"),
            want("b.png", "library"),
            want("b.png", "sp")
        ],
        "one element per input and destination, in that order"
    );
    assert_eq!(f.synposter.objects().len(), 2);

    // a.png is at library and sp already, not at sp2: only sp2 gets its bytes.
    let mut c = h.cmd();
    c.args(["upload", "--to", "library", "--to", "sp2,sp"])
        .arg(&a)
        .env("FERRY_TEST_SYNPOSTER_KEY", ferry_fakes::SYNPOSTER_KEY);
    let out = run(c).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    assert!(
        lines[0].contains("-> library: ") && lines[0].contains("already there"),
        "{text}"
    );
    assert!(
        lines[1].contains("-> sp2: ") && !lines[1].contains("already there"),
        "{text}"
    );
    assert!(
        lines[2].contains("-> sp: ") && lines[2].contains("already there"),
        "{text}"
    );
    assert_eq!(f.synposter.objects().len(), 3, "one more object: sp2's");

    // An unknown destination among them: nothing is queued.
    let mut c = h.cmd();
    c.args(["upload", "--to", "sp,nope"])
        .arg(&b)
        .env("FERRY_TEST_SYNPOSTER_KEY", ferry_fakes::SYNPOSTER_KEY);
    let out = run(c).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("nope"), "{}", stderr(&out));
    let mut c = h.cmd();
    c.args(["queue", "list", "--json"]);
    assert_eq!(json(&run(c).await), serde_json::json!([]));
}

/// A file sent to three destinations at once is read from disk once between its jobs
/// (the shared read's own count, logged when it ends), and every copy is the file.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_file_to_three_destinations_is_read_from_disk_once() {
    let h = Home::new();
    // Above the size hashed before sending, so nothing reads it but the sending.
    let size: usize = 80 * 1024 * 1024 + 4321;
    let mut x = 5u64;
    let mut bytes = png(64);
    bytes.extend((bytes.len()..size).map(|_| {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (x >> 56) as u8
    }));
    let p = h.file("clip.png", &bytes);
    let libs = ["l1", "l2", "l3"];
    for l in libs {
        let mut c = h.cmd();
        c.args(["account", "add", l, "local"])
            .arg(format!("dir={}", h.dir.path().join(l).display()));
        let out = run(c).await;
        assert!(out.status.success(), "{}", stderr(&out));
    }
    let mut c = h.cmd();
    c.args(["-v", "upload", "--to", "l1,l2,l3", "--json"])
        .arg(&p);
    let out = run(c).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let v = json(&out);
    assert_eq!(v.as_array().unwrap().len(), 3);
    let err = stderr(&out);
    let want = format!(
        "shared read: {size} bytes read from disk for a file of {size} bytes sent by 3 jobs"
    );
    assert!(err.contains(&want), "{err}");
    for (l, o) in libs.iter().zip(v.as_array().unwrap()) {
        assert!(o["ok"].as_bool().unwrap(), "{o}");
        // The library's tree (YYYY/MM/clip.png) holds one file.
        let (mut copies, mut dirs) = (Vec::new(), vec![h.dir.path().join(l)]);
        while let Some(d) = dirs.pop() {
            for e in std::fs::read_dir(d).unwrap().map(Result::unwrap) {
                let is_dir = e.file_type().unwrap().is_dir();
                if is_dir {
                    dirs.push(e.path())
                } else {
                    copies.push(e.path())
                }
            }
        }
        assert_eq!(copies.len(), 1, "{copies:?}");
        assert!(
            std::fs::read(&copies[0]).unwrap() == bytes,
            "{l}: a whole copy"
        );
    }
}

/// `name_template` is set like any account option, refused at `account add` when it is
/// bad (exit 2, nothing saved), previewed with `account preview-name`, and followed by
/// `ferry upload`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_name_template_is_checked_at_account_add_previewed_and_followed() {
    let h = Home::new();
    let lib = h.dir.path().join("lib");
    let mut c = h.cmd();
    c.args(["account", "add", "pics", "local"])
        .arg(format!("dir={}", lib.display()))
        .arg("name_template={yyyy}/{album}/{name}");
    let out = run(c).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("`{album}`, which is not a token"),
        "{}",
        stderr(&out)
    );
    let mut c = h.cmd();
    c.args(["account", "list", "--json"]);
    let list = json(&run(c).await);
    assert!(list.as_array().unwrap().iter().all(|a| a["name"] != "pics"));

    let mut c = h.cmd();
    c.args([
        "account",
        "preview-name",
        "local",
        "{account}/{stem}-{hash8}{ext}",
        "--account",
        "pics",
    ]);
    let out = run(c).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(
        shown.starts_with("pics/IMG_2041-") && shown.trim_end().ends_with(".jpg"),
        "{shown}"
    );
    let mut c = h.cmd();
    c.args(["account", "preview-name", "local", "../{name}"]);
    let out = run(c).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("`..`"), "{}", stderr(&out));

    let mut c = h.cmd();
    c.args(["account", "add", "pics", "local"])
        .arg(format!("dir={}", lib.display()))
        .arg("name_template={account}/{rule}/{stem}{ext}");
    assert!(run(c).await.status.success());
    let p = h.file("beach.png", &png(700));
    let mut c = h.cmd();
    c.args(["upload", "--to", "pics", "--json"]).arg(&p);
    let out = run(c).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let id = json(&out)[0]["media"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        id,
        format!("pics{0}manual{0}beach.png", std::path::MAIN_SEPARATOR)
    );
    assert_eq!(
        std::fs::read(lib.join("pics/manual/beach.png")).unwrap(),
        png(700)
    );
}

/// Proxy variables the parent may have, removed so each test sets only its own.
const PROXY_VARS: [&str; 8] = [
    "HTTP_PROXY",
    "http_proxy",
    "HTTPS_PROXY",
    "https_proxy",
    "ALL_PROXY",
    "all_proxy",
    "NO_PROXY",
    "no_proxy",
];

fn without_proxy_env(mut c: Command) -> Command {
    for v in PROXY_VARS {
        c.env_remove(v);
    }
    c
}

/// The keychain path: needs a Secret Service (the README's test command starts one).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settings_set_proxy_routes_uploads_with_the_password_in_the_keychain() {
    use ferry_fakes::forward_proxy::{ForwardProxy, ProxyAuth};
    let f = Fakes::start(Options::default()).await;
    let proxy = ForwardProxy::socks5(ProxyAuth::UserPass("cli".into(), "pr0xy-pw".into())).await;
    let h = Home::new();
    add_synposter(&h, &f, "sp").await;
    let url = format!("socks5://{}", proxy.addr());

    // A password in the URL: refused, saying where it goes, without echoing it.
    let mut c = h.cmd();
    c.args(["settings", "set", "proxy"])
        .arg(format!("socks5://cli:pr0xy-pw@{}", proxy.addr()));
    let out = run(c).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("keychain"), "{}", stderr(&out));
    assert!(!stderr(&out).contains("pr0xy-pw"), "{}", stderr(&out));

    let mut c = h.cmd();
    c.args([
        "settings",
        "set",
        "proxy",
        &url,
        "--user",
        "cli",
        "--password-stdin",
    ])
    .write_stdin("pr0xy-pw\n");
    let out = run(c).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("password: keychain"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );

    let p = h.file("a.png", &png(20_000));
    let mut c = without_proxy_env(h.cmd());
    c.args(["-vv", "upload", "--to", "sp", "--json"])
        .arg(&p)
        .env("FERRY_TEST_SYNPOSTER_KEY", ferry_fakes::SYNPOSTER_KEY);
    let out = run(c).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(f.synposter.objects().len(), 1);
    assert!(
        proxy.up_bytes() >= 20_000,
        "the upload went through the proxy"
    );
    for text in [
        stderr(&out),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    ] {
        assert!(!text.contains("pr0xy-pw"), "{text}");
    }

    let mut c = h.cmd();
    c.args(["settings", "show", "--json"]);
    let out = run(c).await;
    let v = json(&out);
    assert_eq!(v["proxy"], url.as_str());
    assert_eq!(v["proxy_user"], "cli");
    assert_eq!(v["proxy_password"], "keychain");
    let config = std::fs::read_to_string(h.path().join("config.toml")).unwrap();
    assert!(!config.contains("pr0xy-pw"), "{config}");

    // Clean up the keychain entry.
    let mut c = h.cmd();
    c.args(["settings", "set", "proxy", "system", "--no-password"]);
    let out = run(c).await;
    assert!(out.status.success(), "{}", stderr(&out));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn system_proxy_mode_follows_the_proxy_environment_variables() {
    use ferry_fakes::forward_proxy::{ForwardProxy, ProxyAuth};
    let f = Fakes::start(Options::default()).await;
    let socks = ForwardProxy::socks5(ProxyAuth::None).await;
    let http = ForwardProxy::http(ProxyAuth::None).await;
    let h = Home::new();
    add_synposter(&h, &f, "sp").await;
    let api = f.synposter.api_url();
    let target = api["http://".len()..]
        .split('/')
        .next()
        .unwrap()
        .to_string();
    let upload = |name: &str, env: &[(&str, String)]| {
        // Different bytes each time: the same ones would be found in the library and not
        // sent again.
        let p = h.file(name, &png(3_000 + name.as_bytes()[0] as usize));
        let mut c = without_proxy_env(h.cmd());
        c.args(["upload", "--to", "sp"])
            .arg(&p)
            .env("FERRY_TEST_SYNPOSTER_KEY", ferry_fakes::SYNPOSTER_KEY);
        for (k, v) in env {
            c.env(k, v);
        }
        c
    };

    // ALL_PROXY (the default mode is `system`).
    let out = run(upload(
        "a.png",
        &[("ALL_PROXY", format!("socks5://{}", socks.addr()))],
    ))
    .await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(socks.targets().contains(&target), "{:?}", socks.targets());
    // HTTP_PROXY for http:// destinations.
    let out = run(upload(
        "b.png",
        &[("HTTP_PROXY", format!("http://{}", http.addr()))],
    ))
    .await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(http.targets().contains(&target), "{:?}", http.targets());
    // NO_PROXY wins.
    let before = socks.connections();
    let out = run(upload(
        "c.png",
        &[
            ("ALL_PROXY", format!("socks5://{}", socks.addr())),
            ("NO_PROXY", "127.0.0.1".to_string()),
        ],
    ))
    .await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(socks.connections(), before, "NO_PROXY: direct");
    // HTTPS_PROXY for https:// ones: a CONNECT to the destination (whose plain-HTTP
    // fake then fails the TLS handshake: the request only has to reach the proxy).
    let mut c = h.cmd();
    c.args(["account", "add", "tls", "synposter"])
        .arg(format!(
            "api_url={}",
            f.synposter.api_url().replace("http://", "https://")
        ))
        .args(["--secret-env", "FERRY_TEST_SYNPOSTER_KEY"]);
    assert!(run(c).await.status.success());
    let before = http.targets().len();
    let mut c = without_proxy_env(h.cmd());
    c.args(["account", "test", "tls"])
        .env("FERRY_TEST_SYNPOSTER_KEY", ferry_fakes::SYNPOSTER_KEY)
        .env("HTTPS_PROXY", format!("http://{}", http.addr()));
    let out = run(c).await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("the system proxy"),
        "names the route: {}",
        stderr(&out)
    );
    assert!(http.targets().len() > before, "{:?}", http.targets());
    assert!(http.targets().iter().all(|t| *t == target));
    // `none` ignores the environment.
    let mut c = h.cmd();
    c.args(["settings", "set", "proxy", "none"]);
    assert!(run(c).await.status.success());
    let before = socks.connections();
    let out = run(upload(
        "d.png",
        &[("ALL_PROXY", format!("socks5://{}", socks.addr()))],
    ))
    .await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(socks.connections(), before, "mode none: direct");
}
