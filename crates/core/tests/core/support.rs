//! Shared test helpers: engines in temp homes, media files with real magic bytes.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use ferry_core::config::Home;
use ferry_core::library::{Filter, LibraryItem};
use ferry_core::secrets::{MemoryStore, Secret, SecretStore};
use ferry_core::{
    Code, Engine, Error, JobId, JobStatus, Kind, RemoteMedia, RunOptions, SecretInput,
};

pub struct TestEngine {
    pub engine: Arc<Engine>,
    pub dir: tempfile::TempDir,
}

impl TestEngine {
    /// An engine in a temp home whose secrets live in memory (the keychain has its own
    /// tests), with one account `dest`.
    pub fn with_account(
        kind: Kind,
        options: &[(&str, String)],
        secret: Option<&str>,
    ) -> TestEngine {
        let dir = tempfile::tempdir().unwrap();
        let store: Arc<dyn SecretStore> = Arc::new(MemoryStore::default());
        let engine =
            Arc::new(Engine::with_secret_store(Home::at(dir.path().join("home")), store).unwrap());
        let opts: Vec<(String, String)> = options
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect();
        let secret = match secret {
            Some(s) => SecretInput::Value(Secret::new(s)),
            None => SecretInput::None,
        };
        engine.account_add("dest", kind, &opts, secret).unwrap();
        // This test process is the home's runner, as the CLI or the app would be.
        assert!(matches!(
            engine.take_home("ferry tests").unwrap(),
            ferry_core::Taken::Owner { .. }
        ));
        TestEngine { engine, dir }
    }

    /// Upload through the queue, as every host does; the job's outcome as a Result.
    pub async fn upload(&self, path: &Path) -> Result<Vec<RemoteMedia>, Error> {
        let ids = self
            .engine
            .enqueue_paths(&[path.to_path_buf()], "dest", "test", false)?;
        self.run(ids[0]).await
    }

    pub async fn import(&self, url: &str) -> Result<Vec<RemoteMedia>, Error> {
        let id = self
            .engine
            .enqueue_urls(&[url.to_string()], "dest", "test")?
            .remove(0)?;
        self.run(id).await
    }

    pub async fn run(&self, id: JobId) -> Result<Vec<RemoteMedia>, Error> {
        self.engine
            .run(RunOptions {
                scope: Some(vec![id]),
                ..RunOptions::default()
            })
            .await?;
        outcome(&self.engine, id)
    }

    pub fn library(&self) -> Vec<LibraryItem> {
        self.engine.library(&Filter::default()).unwrap()
    }

    pub fn file(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let p = self.dir.path().join("in").join(name);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, bytes).unwrap();
        p
    }

    /// A sparse file of `size` bytes that starts like a PNG: sniffed as an image, costs
    /// no disk.
    pub fn sparse_png(&self, name: &str, size: u64) -> PathBuf {
        let p = self.file(name, &png(64));
        let f = std::fs::OpenOptions::new().write(true).open(&p).unwrap();
        f.set_len(size).unwrap();
        p
    }
}

/// PNG magic followed by `len` pseudo-random bytes (deterministic).
pub fn png(len: usize) -> Vec<u8> {
    let mut v = vec![
        0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d, b'I', b'H', b'D', b'R',
    ];
    v.extend(noise(len));
    v
}

/// An MP4 (ftyp isom) header followed by `len` pseudo-random bytes.
pub fn mp4(len: usize) -> Vec<u8> {
    let mut v = vec![
        0, 0, 0, 0x18, b'f', b't', b'y', b'p', b'i', b's', b'o', b'm', 0, 0, 2, 0, b'i', b's',
        b'o', b'm', b'i', b's', b'o', b'2',
    ];
    v.extend(noise(len));
    v
}

pub fn noise(len: usize) -> Vec<u8> {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            if e.file_type().unwrap().is_dir() {
                stack.push(e.path());
            } else {
                out.push(e.path());
            }
        }
    }
    out
}

/// A finished job as a Result: its media, or its error with the stored code.
pub fn outcome(engine: &Engine, id: JobId) -> Result<Vec<RemoteMedia>, Error> {
    let job = engine.job(id)?;
    match job.status {
        JobStatus::Succeeded => Ok(job.media),
        JobStatus::Cancelled => Err(Error::cancelled()),
        other => {
            let e = job.error.unwrap_or(ferry_core::queue::JobError {
                code: "internal".into(),
                message: format!("job ended {}", other.as_str()),
            });
            Err(Error::new(
                Code::parse(&e.code).unwrap_or(Code::Internal),
                e.message,
            ))
        }
    }
}

/// The runner as the desktop app runs it (`forever`), until the token is cancelled.
pub fn run_forever(
    engine: &Arc<Engine>,
) -> (
    tokio_util::sync::CancellationToken,
    tokio::task::JoinHandle<Result<(), Error>>,
) {
    let stop = tokio_util::sync::CancellationToken::new();
    let task = tokio::spawn({
        let (e, s) = (engine.clone(), stop.clone());
        async move {
            e.run(RunOptions {
                forever: true,
                stop: Some(s),
                ..RunOptions::default()
            })
            .await
        }
    });
    (stop, task)
}
