//! One desktop app per FERRY_HOME, on every platform: the first launch holds an OS lock
//! on `FERRY_HOME/app.lock` (flock / LockFileEx, released by the OS when the process
//! ends, however it ends); a later launch for the same home writes what it was given
//! (arguments, working folder) as a request file in `FERRY_HOME/handoff/` and exits once
//! the first one has taken it. Separate homes (tests, benchmarks, a second profile) run
//! side by side.
//!
//! Why not tauri-plugin-single-instance: on Windows and macOS it keys instances by the
//! bundle identifier only, so a second home's launch would hand its files to the first
//! home's app. The lock and the folder are the same code on every OS, so the Linux tests
//! check what Windows and macOS run.
//!
//! This module only hands requests over; what becomes of them is the caller's (see
//! `desktop.rs`, which queues the files and shows the window).

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

/// How often the first instance looks for requests.
pub const POLL: Duration = Duration::from_millis(200);
/// How long a later launch waits for the first one to take its request before it says
/// the first one does not answer.
pub const WAIT: Duration = Duration::from_secs(10);
/// A request older than this when found (its sender was killed before the owner started)
/// is dropped rather than acted on: files appearing in the queue minutes after someone
/// opened them would be a surprise.
const STALE: Duration = Duration::from_secs(120);

/// What a later launch hands to the first one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Request {
    pub argv: Vec<String>,
    pub cwd: PathBuf,
}

/// The result of [`claim`].
pub enum Claim {
    /// This process is the app for the home; keep the lock as long as it runs.
    First(Instance),
    /// The running app took the request: this process should exit (status 0).
    HandedOver,
}

/// The first instance's lock and request folder.
pub struct Instance {
    _lock: File,
    dir: PathBuf,
}

fn lock_path(home: &Path) -> PathBuf {
    home.join("app.lock")
}

fn handoff_dir(home: &Path) -> PathBuf {
    home.join("handoff")
}

fn try_lock(home: &Path) -> io::Result<Option<File>> {
    std::fs::create_dir_all(home)?;
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(lock_path(home))?;
    match file.try_lock() {
        Ok(()) => Ok(Some(file)),
        Err(std::fs::TryLockError::WouldBlock) => Ok(None),
        Err(std::fs::TryLockError::Error(e)) => Err(e),
    }
}

/// Become the app for `home`, or hand `request` to the one that is. A launch that finds
/// the first one gone while it waits (it was quitting) becomes the first itself.
pub fn claim(home: &Path, request: &Request) -> io::Result<Claim> {
    claim_within(home, request, WAIT)
}

fn claim_within(home: &Path, request: &Request, wait: Duration) -> io::Result<Claim> {
    if let Some(lock) = try_lock(home)? {
        return Ok(Claim::First(Instance::new(lock, home)));
    }
    let dir = handoff_dir(home);
    std::fs::create_dir_all(&dir)?;
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos();
    let name = format!("{nanos:024}-{}.json", std::process::id());
    let path = dir.join(&name);
    // Written under another name and renamed: the first instance never reads half a file.
    let tmp = dir.join(format!(".{name}.tmp"));
    std::fs::write(&tmp, serde_json::to_vec(request).expect("request json"))?;
    std::fs::rename(&tmp, &path)?;
    let start = Instant::now();
    while start.elapsed() < wait {
        std::thread::sleep(Duration::from_millis(50));
        if !path.exists() {
            return Ok(Claim::HandedOver);
        }
        if let Some(lock) = try_lock(home)? {
            // The first one quit before taking it: this launch is the app now, and its
            // own arguments are handled as at any first start.
            let _ = std::fs::remove_file(&path);
            return Ok(Claim::First(Instance::new(lock, home)));
        }
    }
    let _ = std::fs::remove_file(&path);
    Err(io::Error::new(
        io::ErrorKind::TimedOut,
        format!(
            "Ferry is already running for {} but did not answer within {} s; \
             quit it (or end ferry-app in the task manager) and start Ferry again",
            home.display(),
            wait.as_secs()
        ),
    ))
}

impl Instance {
    fn new(lock: File, home: &Path) -> Instance {
        Instance {
            _lock: lock,
            dir: handoff_dir(home),
        }
    }

    /// Requests waiting now, oldest first, each removed as it is taken. Stale ones
    /// (senders killed long ago) and unreadable ones are removed and skipped.
    pub fn take(&self) -> Vec<Request> {
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return Vec::new();
        };
        let mut names: Vec<PathBuf> = entries
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .filter(|p| {
                !p.file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with('.'))
            })
            .collect();
        names.sort();
        let mut out = Vec::new();
        for path in names {
            let age = std::fs::metadata(&path)
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| t.elapsed().ok())
                .unwrap_or_default();
            let read = std::fs::read(&path);
            // Removed whatever it holds: the sender waits for exactly this.
            let _ = std::fs::remove_file(&path);
            match read.map(|b| serde_json::from_slice::<Request>(&b)) {
                Ok(Ok(r)) if age <= STALE => out.push(r),
                Ok(Ok(_)) => tracing::info!("dropped a launch request from {age:?} ago"),
                Ok(Err(e)) => tracing::warn!("ignored an unreadable launch request: {e}"),
                Err(e) => tracing::warn!("could not read a launch request: {e}"),
            }
        }
        out
    }

    /// Call `handle` with every request, on a thread of its own, until `stop`; the lock
    /// is held as long as the thread runs (it owns the instance).
    pub fn serve(self, stop: CancellationToken, handle: impl Fn(Request) + Send + 'static) {
        std::thread::Builder::new()
            .name("ferry-instance".into())
            .spawn(move || {
                while !stop.is_cancelled() {
                    for r in self.take() {
                        handle(r);
                    }
                    std::thread::sleep(POLL);
                }
            })
            .expect("spawn the instance thread");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;

    fn req(arg: &str) -> Request {
        Request {
            argv: vec!["ferry-app".into(), arg.into()],
            cwd: PathBuf::from("/somewhere"),
        }
    }

    #[test]
    fn a_second_launch_hands_its_request_to_the_first_and_another_home_runs_alone() {
        let home = tempfile::tempdir().unwrap();
        let Claim::First(first) = claim(home.path(), &req("a.png")).unwrap() else {
            panic!("the first launch must be first");
        };
        let (tx, rx) = mpsc::channel();
        let stop = CancellationToken::new();
        first.serve(stop.clone(), move |r| tx.send(r).unwrap());

        let second = claim(home.path(), &req("b.png")).unwrap();
        assert!(matches!(second, Claim::HandedOver));
        assert_eq!(rx.recv_timeout(WAIT).unwrap(), req("b.png"));

        // Another home is not this one's business.
        let other = tempfile::tempdir().unwrap();
        assert!(matches!(
            claim(other.path(), &req("c.png")).unwrap(),
            Claim::First(_)
        ));
        stop.cancel();
    }

    #[test]
    fn a_launch_waiting_on_a_first_one_that_quits_becomes_the_first() {
        let home = tempfile::tempdir().unwrap();
        let Claim::First(first) = claim(home.path(), &req("a.png")).unwrap() else {
            panic!("first");
        };
        // The first one never serves (it is quitting) and lets go of the lock shortly.
        let quitter = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(300));
            drop(first);
        });
        let second = claim(home.path(), &req("b.png")).unwrap();
        quitter.join().unwrap();
        let Claim::First(now) = second else {
            panic!("the waiting launch must take over");
        };
        // Its own request is not left behind for itself.
        assert!(now.take().is_empty());
    }

    #[test]
    fn a_first_one_that_does_not_answer_is_reported_and_the_request_withdrawn() {
        let home = tempfile::tempdir().unwrap();
        let Claim::First(first) = claim(home.path(), &req("a.png")).unwrap() else {
            panic!("first");
        };
        let err = match claim_within(home.path(), &req("b.png"), Duration::from_millis(300)) {
            Err(e) => e,
            Ok(_) => panic!("nobody answered, so the claim must fail"),
        };
        assert!(err.to_string().contains("did not answer"), "{err}");
        assert!(first.take().is_empty(), "the withdrawn request is gone");
    }

    #[test]
    fn requests_left_by_killed_launches_are_taken_at_start_unless_stale() {
        let home = tempfile::tempdir().unwrap();
        let dir = handoff_dir(home.path());
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("1-1.json"),
            serde_json::to_vec(&req("x.png")).unwrap(),
        )
        .unwrap();
        std::fs::write(dir.join("2-1.json"), b"{not json").unwrap();
        let old = dir.join("0-1.json");
        std::fs::write(&old, serde_json::to_vec(&req("old.png")).unwrap()).unwrap();
        let long_ago = SystemTime::now() - Duration::from_secs(3600);
        File::options()
            .write(true)
            .open(&old)
            .unwrap()
            .set_modified(long_ago)
            .unwrap();
        let Claim::First(first) = claim(home.path(), &req("a.png")).unwrap() else {
            panic!("first");
        };
        assert_eq!(first.take(), vec![req("x.png")]);
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0, "all removed");
    }
}
