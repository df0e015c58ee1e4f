//! After-upload actions of watch rules (`move:SUBDIR`, `delete`), durable and careful.
//!
//! A watch job that succeeded is `pending` in the journal until its action is settled,
//! so a stop or crash never forgets one. An action touches only what was sent:
//! - the job's rule must still exist under that id (ids are never reused) and the file
//!   must be inside the rule's folder;
//! - the file must still be the one sent (size, mtime and content hash as journaled) —
//!   a newer version saved after the upload stays, and the rule sends it;
//! - every copy must be safe at the destination: a copy still processing (FastPix) waits
//!   until it is ready, one that failed keeps the source;
//! - a rule with several destinations acts only once the file is at every one of them
//!   (its jobs are side by side in the journal); a copy that was cancelled keeps it;
//! - a move never overwrites: a name already taken in SUBDIR gets ` (2)`.
//!
//! If in doubt, the file is kept, and the job says why.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;

use super::{After, Watch};
use crate::library::Provenance;
use crate::providers::{MediaStatus, RemoteMedia};
use crate::queue::{Event, Job, JobStatus};

/// How often items still processing at their destination are asked again.
const PROCESSING_POLL: Duration = Duration::from_secs(5);

/// What to do with one pending job now.
#[derive(Debug, PartialEq)]
enum Verdict {
    /// Settled: the action was done (or there was none).
    Done(String),
    /// Settled: the file stays, for this reason.
    Kept(String),
    /// Not yet (the destination is still processing it).
    Later,
}

pub(crate) async fn run(watch: Arc<Watch>, stop: CancellationToken) {
    let mut rx = watch.queue.subscribe();
    let mut asked: HashMap<i64, Instant> = HashMap::new();
    loop {
        settle_pending(&watch, &mut asked).await;
        // A success wakes it at once; otherwise look again now and then (items
        // processing remotely, a database that was busy).
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = async {
                loop {
                    match rx.recv().await {
                        Ok(Event::JobSucceeded { .. }) => return,
                        Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                        Err(_) => std::future::pending::<()>().await,
                    }
                }
            } => {}
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
        }
    }
}

async fn settle_pending(watch: &Arc<Watch>, asked: &mut HashMap<i64, Instant>) {
    let jobs = match watch.queue.jobs.after_pending(200) {
        Ok(j) => j,
        Err(e) => {
            tracing::warn!("after-upload actions: {}", e.message);
            return;
        }
    };
    for job in jobs {
        let verdict = decide(watch, &job, asked).await;
        let state = match &verdict {
            Verdict::Done(what) => format!("done: {what}"),
            Verdict::Kept(why) => {
                tracing::info!("job {}: kept {} ({why})", job.id, job.input);
                format!("kept: {why}")
            }
            Verdict::Later => continue,
        };
        asked.remove(&job.id);
        if let Err(e) = watch.queue.jobs.set_after(job.id, &state) {
            tracing::warn!("job {}: {}", job.id, e.message);
        }
    }
}

async fn decide(watch: &Arc<Watch>, job: &Job, asked: &mut HashMap<i64, Instant>) -> Verdict {
    let Some(rule_id) = job.origin.strip_prefix("watch:") else {
        return Verdict::Done("not a watch job".into());
    };
    let Some(rule) = watch.rules().into_iter().find(|r| r.id == rule_id) else {
        return Verdict::Kept(format!("its watch rule {rule_id} was removed"));
    };
    if rule.after == After::Keep {
        return Verdict::Done("keep".into());
    }
    let others = match the_other_copies(watch, job, rule.accounts().len()) {
        Ok(others) => others,
        Err(verdict) => return verdict,
    };
    let src = PathBuf::from(&job.input);
    if !inside(&src, &rule.dir) {
        return Verdict::Kept(format!(
            "it is not inside the rule's folder {}",
            rule.dir.display()
        ));
    }
    match still_the_one_sent(job, &src).await {
        Ok(true) => {}
        Ok(false) => {
            return Verdict::Kept("it changed after the upload; the new version is sent".into())
        }
        Err(missing) => return Verdict::Done(missing),
    }
    // Every copy must be safe at its destination: this job's, and with several
    // destinations every other one's (a video still processing elsewhere may yet fail).
    for j in std::iter::once(job).chain(others.iter()) {
        for m in &j.media {
            match safe_at_destination(watch, j, m, asked).await {
                Some(Ok(())) => {}
                Some(Err(why)) => return Verdict::Kept(why),
                None => return Verdict::Later,
            }
        }
    }
    let result = match &rule.after {
        After::Keep => Ok("keep".to_string()),
        After::Delete => std::fs::remove_file(&src).map(|_| "deleted".to_string()),
        After::Move(sub) => move_no_clobber(&src, &rule.dir.join(sub))
            .map(|to| format!("moved to {}", to.display())),
    };
    match result {
        Ok(what) => Verdict::Done(what),
        Err(e) => {
            tracing::warn!(
                "rule {}: after-upload action on {}: {e}",
                rule.id,
                src.display()
            );
            Verdict::Kept(format!("the action failed: {e}"))
        }
    }
}

/// With several destinations, the file's other jobs (written next to this one):
/// `Ok(them)` when every one succeeded (their copies must be safe too), else what to do
/// meanwhile — wait while one is still on its way, keep the file if one failed or was
/// cancelled (a failed copy retried later is sent from the file, which stays).
fn the_other_copies(
    watch: &Arc<Watch>,
    job: &Job,
    destinations: usize,
) -> Result<Vec<Job>, Verdict> {
    if destinations < 2 {
        return Ok(Vec::new());
    }
    let mut others = Vec::new();
    for other in watch.queue.jobs.siblings(job, destinations as i64 - 1) {
        match other.status {
            JobStatus::Succeeded => others.push(other),
            JobStatus::Cancelled => {
                return Err(Verdict::Kept(format!(
                    "its copy to {} was cancelled",
                    other.account
                )))
            }
            JobStatus::Failed => {
                return Err(Verdict::Kept(format!(
                    "its copy to {} failed",
                    other.account
                )))
            }
            _ => return Err(Verdict::Later),
        }
    }
    Ok(others)
}

/// Whether `path` lies inside `dir`, compared after resolving links, so `..` or a link
/// out of the folder never counts as inside.
fn inside(path: &Path, dir: &Path) -> bool {
    let Some(parent) = path.parent() else {
        return false;
    };
    match (parent.canonicalize(), dir.canonicalize()) {
        (Ok(p), Ok(d)) => p.starts_with(&d),
        _ => false,
    }
}

/// Size, mtime and content hash as the job journaled them. `Err` when the file is gone
/// (nothing left to act on).
async fn still_the_one_sent(job: &Job, src: &Path) -> Result<bool, String> {
    let meta = match std::fs::symlink_metadata(src) {
        Ok(m) if m.is_file() => m,
        _ => return Err("the file is gone already".into()),
    };
    let fp = crate::transfer::Fingerprint::of(&meta);
    if Some(fp.size) != job.src_size || fp.mtime_ns() != job.src_mtime_ns {
        return Ok(false);
    }
    let Some(expected) = &job.content_hash else {
        return Ok(false);
    };
    match crate::transfer::hash_file(src, &CancellationToken::new()).await {
        Ok(h) => Ok(&h == expected),
        Err(_) => Ok(false),
    }
}

/// `Some(Ok)` safe, `Some(Err(why))` not safe for good, `None` ask again later.
async fn safe_at_destination(
    watch: &Arc<Watch>,
    job: &Job,
    media: &RemoteMedia,
    asked: &mut HashMap<i64, Instant>,
) -> Option<Result<(), String>> {
    // The library holds the latest known status (the app's refresher updates it).
    let current = watch
        .queue
        .library
        .find_remote(&job.account, &media.id)
        .ok()
        .flatten()
        .map(|i| i.as_media())
        .unwrap_or_else(|| media.clone());
    match current.status {
        MediaStatus::Ready => return Some(Ok(())),
        MediaStatus::Failed => {
            return Some(Err("the destination failed to process it".into()));
        }
        MediaStatus::Processing => {}
    }
    if asked
        .get(&job.id)
        .is_some_and(|t| t.elapsed() < PROCESSING_POLL)
    {
        return None;
    }
    asked.insert(job.id, Instant::now());
    let provider = watch.queue.accounts.provider(&job.account).ok()?;
    if !provider.features().refresh_status {
        return Some(Err("its processing state cannot be checked".into()));
    }
    let fresh = provider
        .refresh(&current, &watch.queue.quiet_ctx())
        .await
        .ok()?;
    let _ = watch.queue.library.record(
        &fresh,
        &Provenance {
            account: &job.account,
            kind: provider.kind(),
            content_hash: None,
            job_id: None,
            source: None,
        },
    );
    match fresh.status {
        MediaStatus::Ready => {
            watch.queue.emit(Event::LibraryChanged);
            Some(Ok(()))
        }
        MediaStatus::Failed => {
            watch.queue.emit(Event::LibraryChanged);
            Some(Err("the destination failed to process it".into()))
        }
        MediaStatus::Processing => None,
    }
}

/// Move a file into `dir` under its own name, or ` (2)`, ` (3)`… if that is taken —
/// never replacing a file there, on any filesystem (`place`).
pub(crate) fn move_no_clobber(src: &Path, dir: &Path) -> std::io::Result<PathBuf> {
    std::fs::create_dir_all(dir)?;
    let name = src
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    // Named as the local library names its copies (a leading dot is no extension, long
    // names shortened to fit 255 bytes with the suffix).
    let (stem, ext) = crate::media::split_extension(&name);
    for n in 1..10_000u32 {
        let suffix = if n == 1 {
            String::new()
        } else {
            format!(" ({n})")
        };
        let candidate = dir.join(crate::media::join_name(stem, &suffix, ext));
        if std::fs::symlink_metadata(&candidate).is_ok() {
            continue;
        }
        match crate::place::rename_no_clobber(src, &candidate) {
            Ok(()) => return Ok(candidate),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Err(std::io::Error::other(format!(
        "too many files named {name} in {}",
        dir.display()
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_move_never_overwrites_a_file_of_the_same_name() {
        let dir = tempfile::tempdir().unwrap();
        let done = dir.path().join("done");
        std::fs::create_dir_all(&done).unwrap();
        std::fs::write(done.join("IMG_0001.JPG"), b"the earlier original").unwrap();
        let src = dir.path().join("IMG_0001.JPG");
        std::fs::write(&src, b"today's photo").unwrap();
        let to = move_no_clobber(&src, &done).unwrap();
        assert_eq!(to, done.join("IMG_0001 (2).JPG"));
        assert_eq!(
            std::fs::read(done.join("IMG_0001.JPG")).unwrap(),
            b"the earlier original"
        );
        assert_eq!(std::fs::read(&to).unwrap(), b"today's photo");
        assert!(!src.exists());
    }

    #[test]
    fn a_file_outside_the_rule_folder_is_not_inside_it() {
        let dir = tempfile::tempdir().unwrap();
        let watched = dir.path().join("watched");
        let other = dir.path().join("other");
        std::fs::create_dir_all(&watched).unwrap();
        std::fs::create_dir_all(&other).unwrap();
        std::fs::write(other.join("a.jpg"), b"x").unwrap();
        std::fs::write(watched.join("b.jpg"), b"x").unwrap();
        assert!(!inside(&other.join("a.jpg"), &watched));
        assert!(!inside(&watched.join("../other/a.jpg"), &watched));
        assert!(inside(&watched.join("b.jpg"), &watched));
    }
}
