//! Hygiene: what Ferry shows and stores must not leak credentials or surprise the person —
//! presigned queries kept out of messages, a private home, names that are safe to show
//! and store, and background fetches that stay off this machine's private network.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use ferry_core::config::Home;
use ferry_core::secrets::MemoryStore;
use ferry_core::{Engine, RunOptions};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// A loopback HTTP server that answers each connection with `answer(request line)`
/// (`None`: close without a word), counting connections. Stops when dropped.
struct RawServer {
    port: u16,
    connections: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl RawServer {
    async fn start(answer: fn(&str, u16) -> Option<String>) -> RawServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let connections = Arc::new(AtomicUsize::new(0));
        let count = connections.clone();
        let task = tokio::spawn(async move {
            // Bounded: no test needs more than a few dozen connections.
            for _ in 0..64 {
                let Ok((mut sock, _)) = listener.accept().await else {
                    return;
                };
                count.fetch_add(1, Ordering::SeqCst);
                let mut buf = vec![0u8; 8192];
                let mut got = 0;
                while got < buf.len() {
                    match sock.read(&mut buf[got..]).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => got += n,
                    }
                    if buf[..got].windows(4).any(|w| w == b"\r\n\r\n") {
                        break;
                    }
                }
                let head = String::from_utf8_lossy(&buf[..got]).into_owned();
                let line = head.lines().next().unwrap_or("").to_string();
                if let Some(reply) = answer(&line, port) {
                    let _ = sock.write_all(reply.as_bytes()).await;
                }
                let _ = sock.shutdown().await;
            }
        });
        RawServer {
            port,
            connections,
            task,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }
}

impl Drop for RawServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// An engine in `dir` that runs the home's queue, as the CLI or the app would.
fn engine_in(dir: &std::path::Path) -> Arc<Engine> {
    let engine =
        Engine::with_secret_store(Home::at(dir), Arc::new(MemoryStore::default())).unwrap();
    assert!(matches!(
        engine.take_home("ferry tests").unwrap(),
        ferry_core::Taken::Owner { .. }
    ));
    Arc::new(engine)
}

/// `/start?…` redirects to `/next?…`, which closes the connection without answering.
fn redirect_then_hang_up(line: &str, port: u16) -> Option<String> {
    if line.contains("/start") {
        Some(format!(
            "HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1:{port}/next.png?X-Amz-Signature=secret-two&X-Amz-Credential=cred-two\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        ))
    } else {
        None
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signed_url_that_redirects_and_fails_shows_no_query_in_the_error_or_the_job() {
    let server = RawServer::start(redirect_then_hang_up).await;
    let dir = tempfile::tempdir().unwrap();
    let engine = engine_in(&dir.path().join("home"));
    let url = server.url("/start.png?X-Amz-Signature=secret-one&token=secret-token");
    let id = engine
        .enqueue_urls(std::slice::from_ref(&url), "library", "test")
        .unwrap()
        .remove(0)
        .unwrap();
    engine
        .run(RunOptions {
            scope: Some(vec![id]),
            ..RunOptions::default()
        })
        .await
        .unwrap();
    let job = engine.job(id).unwrap();
    let err = job.error.clone().expect("the import failed");
    assert!(
        server.connections.load(Ordering::SeqCst) >= 2,
        "the redirect was followed"
    );
    for secret in ["secret-one", "secret-token", "secret-two", "cred-two"] {
        assert!(
            !err.message.contains(secret),
            "{secret} in the message: {}",
            err.message
        );
        let json = serde_json::to_string(&job).unwrap();
        assert!(!json.contains(secret), "{secret} in the job's JSON: {json}");
    }
    assert!(
        err.message.contains("127.0.0.1"),
        "the message still says where: {}",
        err.message
    );
    assert_eq!(
        job.input, url,
        "the journal keeps the URL it needs to resume"
    );
}

#[cfg(unix)]
#[test]
fn a_fresh_home_is_private_to_its_owner() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("fresh").join("home");
    let engine = engine_in(&home);
    // Saving the config creates config.toml beside the database.
    engine
        .account_add(
            "lib2",
            ferry_core::Kind::Local,
            &[],
            ferry_core::SecretInput::None,
        )
        .unwrap();
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&home), 0o700, "FERRY_HOME");
    assert_eq!(mode(&home.join("ferry.db")), 0o600, "ferry.db");
    assert_eq!(mode(&home.join("config.toml")), 0o600, "config.toml");
    for side in ["ferry.db-wal", "ferry.db-shm"] {
        let p = home.join(side);
        if p.exists() {
            assert_eq!(mode(&p), 0o600, "{side}");
        }
    }
}

#[cfg(unix)]
#[test]
fn separate_config_and_data_folders_are_both_created_private() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let home = Home {
        config_dir: dir.path().join("config/ferry"),
        data_dir: dir.path().join("data/ferry"),
        fresh_library: None,
        log_dir: dir.path().join("state/ferry/logs"),
    };
    let engine = Engine::with_secret_store(home.clone(), Arc::new(MemoryStore::default())).unwrap();
    engine
        .account_add(
            "lib2",
            ferry_core::Kind::Local,
            &[],
            ferry_core::SecretInput::None,
        )
        .unwrap();
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&home.config_dir), 0o700);
    assert_eq!(mode(&home.data_dir), 0o700);
    assert_eq!(mode(&home.data_dir.join("ferry.db")), 0o600);
}

/// Upload `bytes` named `name` to the local library; the file it landed as.
async fn upload_to_library(
    engine: &Arc<Engine>,
    dir: &std::path::Path,
    name: &str,
    bytes: &[u8],
) -> std::path::PathBuf {
    let src = dir.join("in").join(folder_for(bytes));
    std::fs::create_dir_all(&src).unwrap();
    let path = src.join(name);
    std::fs::write(&path, bytes).unwrap();
    let id = engine
        .enqueue_paths(&[path], "library", "test", false)
        .unwrap()[0];
    engine
        .run(RunOptions {
            scope: Some(vec![id]),
            ..RunOptions::default()
        })
        .await
        .unwrap();
    let media = crate::support::outcome(engine, id).expect("uploaded");
    url::Url::parse(media[0].url.as_deref().unwrap())
        .unwrap()
        .to_file_path()
        .unwrap()
}

/// A folder name per content, so two files of the same name can sit side by side.
fn folder_for(bytes: &[u8]) -> String {
    format!(
        "{:x}",
        bytes.iter().map(|b| *b as u64).sum::<u64>() + bytes.len() as u64
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_name_that_needs_a_number_is_shortened_and_keeps_its_extension() {
    let dir = tempfile::tempdir().unwrap();
    let engine = engine_in(&dir.path().join("home"));
    // 251 bytes of stem (é is 2 bytes: the cut must not split one) + ".png": 255 bytes.
    let name = format!("a{}.png", "é".repeat(125));
    assert_eq!(name.len(), 255);
    let first = upload_to_library(&engine, dir.path(), &name, &crate::support::png(100)).await;
    let second = upload_to_library(&engine, dir.path(), &name, &crate::support::png(200)).await;
    assert_eq!(first.file_name().unwrap().to_str().unwrap(), name);
    let second = second.file_name().unwrap().to_str().unwrap().to_string();
    assert!(second.len() <= 255, "{} bytes", second.len());
    assert!(second.ends_with(" (2).png"), "{second}");
    assert!(second.starts_with("aé"), "{second}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_255_byte_name_beginning_with_a_dot_is_stored_as_a_visible_file() {
    let dir = tempfile::tempdir().unwrap();
    let engine = engine_in(&dir.path().join("home"));
    let name = format!(".{}", "b".repeat(254));
    let placed = upload_to_library(&engine, dir.path(), &name, &crate::support::png(100)).await;
    let placed = placed.file_name().unwrap().to_str().unwrap().to_string();
    assert!(placed.len() <= 255, "{} bytes", placed.len());
    assert!(placed.starts_with("_.bbb"), "{placed}");
    // A second one gets its number at the end, not before a "extension" of 254 bytes.
    let again = upload_to_library(&engine, dir.path(), &name, &crate::support::png(300)).await;
    let again = again.file_name().unwrap().to_str().unwrap().to_string();
    assert!(again.len() <= 255 && again.ends_with("b (2)"), "{again}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bidi_controls_are_stripped_from_the_stored_file_and_the_library_name() {
    let dir = tempfile::tempdir().unwrap();
    let engine = engine_in(&dir.path().join("home"));
    let name = "holiday\u{202e}gnp.exe\u{2066}.png";
    let placed = upload_to_library(&engine, dir.path(), name, &crate::support::png(100)).await;
    assert_eq!(
        placed.file_name().unwrap().to_str().unwrap(),
        "holidaygnp.exe.png"
    );
    let items = engine
        .library(&ferry_core::library::Filter::default())
        .unwrap();
    assert_eq!(items[0].name, "holidaygnp.exe.png");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thumbnail_fetch_from_a_loopback_link_is_refused_without_contacting_it() {
    let server = RawServer::start(|_, _| {
        Some("HTTP/1.1 200 OK\r\nContent-Type: image/png\r\nContent-Length: 0\r\n\r\n".into())
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let engine = engine_in(&dir.path().join("home"));
    let media = ferry_core::RemoteMedia {
        id: "remote-1".into(),
        name: "x.png".into(),
        url: Some(server.url("/x.png")),
        mime_type: "image/png".into(),
        size: Some(10),
        status: ferry_core::MediaStatus::Ready,
        expires_at: None,
    };
    let id = engine
        .library_handle()
        .record(
            &media,
            &ferry_core::library::Provenance {
                account: "elsewhere",
                kind: ferry_core::Kind::Synposter,
                content_hash: None,
                job_id: None,
                source: None,
            },
        )
        .unwrap();
    let item = engine.library_handle().get(id).unwrap().unwrap();
    let err = engine
        .fetch_thumbnail(&item, &dir.path().join("thumbs"))
        .await
        .unwrap_err();
    assert_eq!(
        err.code,
        ferry_core::Code::InputInvalidUrl,
        "{}",
        err.message
    );
    assert!(err.message.contains("public"), "{}", err.message);
    assert_eq!(
        server.connections.load(Ordering::SeqCst),
        0,
        "the loopback server was not contacted"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thumbnail_link_whose_name_resolves_to_loopback_is_refused_without_contacting_it() {
    let server = RawServer::start(|_, _| None).await;
    let dir = tempfile::tempdir().unwrap();
    let engine = engine_in(&dir.path().join("home"));
    let media = ferry_core::RemoteMedia {
        id: "remote-2".into(),
        name: "y.png".into(),
        url: Some(format!("http://localhost:{}/y.png", server.port)),
        mime_type: "image/png".into(),
        size: Some(10),
        status: ferry_core::MediaStatus::Ready,
        expires_at: None,
    };
    let id = engine
        .library_handle()
        .record(
            &media,
            &ferry_core::library::Provenance {
                account: "elsewhere",
                kind: ferry_core::Kind::Synposter,
                content_hash: None,
                job_id: None,
                source: None,
            },
        )
        .unwrap();
    let item = engine.library_handle().get(id).unwrap().unwrap();
    let err = engine
        .fetch_thumbnail(&item, &dir.path().join("thumbs"))
        .await
        .unwrap_err();
    assert!(
        err.message.contains("not a public address"),
        "{}",
        err.message
    );
    assert_eq!(server.connections.load(Ordering::SeqCst), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signed_url_imported_to_the_library_is_recorded_and_listed_without_its_query() {
    let f = ferry_fakes::Fakes::start(ferry_fakes::Options::default()).await;
    f.origin
        .serve("/signed.png", crate::support::png(2000), "image/png");
    let dir = tempfile::tempdir().unwrap();
    let engine = engine_in(&dir.path().join("home"));
    let url = f.origin.url("/signed.png?X-Amz-Signature=secret-sig");
    let id = engine
        .enqueue_urls(std::slice::from_ref(&url), "library", "test")
        .unwrap()
        .remove(0)
        .unwrap();
    engine
        .run(RunOptions {
            scope: Some(vec![id]),
            ..RunOptions::default()
        })
        .await
        .unwrap();
    crate::support::outcome(&engine, id).expect("imported");
    let items = engine
        .library(&ferry_core::library::Filter::default())
        .unwrap();
    assert_eq!(items.len(), 1);
    let json = serde_json::to_string(&items).unwrap();
    assert!(!json.contains("secret-sig"), "{json}");
    assert_eq!(
        items[0].source.as_deref(),
        Some(ferry_core::redact::url(&url).as_str())
    );
    let job = serde_json::to_string(&engine.job(id).unwrap()).unwrap();
    assert!(!job.contains("secret-sig"), "{job}");
}
