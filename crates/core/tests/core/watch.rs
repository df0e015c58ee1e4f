//! Watch folders with real filesystem events in temp dirs. Each test asserts exactly what
//! reached the destination (the local library, or a fake) and how many times.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ferry_core::library::Filter;
use ferry_core::watch::{After, Existing, NewRule};
use ferry_core::{Engine, JobStatus, Kind};
use tokio_util::sync::CancellationToken;

use crate::support::{png, TestEngine};

/// A local-library destination, a watched folder, and `watch_run` in the background
/// (stopped on drop).
struct Harness {
    t: TestEngine,
    dir: PathBuf,
    lib: PathBuf,
    stop: CancellationToken,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Harness {
    fn new() -> Harness {
        let scratch = tempfile::tempdir().unwrap();
        let lib = scratch.path().join("lib");
        let t = TestEngine::with_account(Kind::Local, &[("dir", lib.display().to_string())], None);
        let dir = t.dir.path().join("watched");
        std::fs::create_dir_all(&dir).unwrap();
        // Keep the scratch dir alive as long as the engine's.
        std::mem::forget(scratch);
        Harness {
            t,
            dir,
            lib,
            stop: CancellationToken::new(),
            task: None,
        }
    }

    fn engine(&self) -> &Arc<Engine> {
        &self.t.engine
    }

    fn add(&self, f: impl FnOnce(&mut NewRule)) -> String {
        let mut r = NewRule::new(&self.dir, "dest");
        r.settle_secs = 0.5;
        f(&mut r);
        self.engine().watch_add(r).unwrap().id
    }

    fn start(&mut self) {
        self.stop = CancellationToken::new();
        let engine = self.engine().clone();
        let stop = self.stop.clone();
        self.task = Some(tokio::spawn(async move {
            engine.watch_run(stop).await.unwrap();
        }));
    }

    async fn stop(&mut self) {
        self.stop.cancel();
        if let Some(t) = self.task.take() {
            tokio::time::timeout(Duration::from_secs(20), t)
                .await
                .expect("stops")
                .unwrap();
        }
    }

    async fn wait_watching(&self, id: &str) {
        wait_for("the rule to be watching", Duration::from_secs(10), || {
            self.engine()
                .watch_list()
                .unwrap()
                .iter()
                .any(|v| v.rule.id == id && v.state == "watching")
        })
        .await;
    }

    /// Names in the library with how often each was uploaded.
    fn uploaded(&self) -> Vec<String> {
        let mut v: Vec<String> = self
            .engine()
            .library(&Filter::default())
            .unwrap()
            .into_iter()
            .map(|i| i.name)
            .collect();
        v.sort();
        v
    }

    fn jobs_done(&self) -> usize {
        self.engine()
            .jobs(false)
            .unwrap()
            .iter()
            .filter(|j| j.status == JobStatus::Succeeded)
            .count()
    }

    fn library_files(&self) -> Vec<PathBuf> {
        crate::support::files_under(&self.lib)
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

async fn wait_for(what: &str, limit: Duration, cond: impl Fn() -> bool) {
    let deadline = Instant::now() + limit;
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Give the watcher time to (not) act: a few quiet periods.
async fn quiet() {
    tokio::time::sleep(Duration::from_millis(1800)).await;
}

fn write(p: &Path, bytes: &[u8]) {
    std::fs::write(p, bytes).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_writer_is_uploaded_once_and_complete() {
    let mut h = Harness::new();
    let id = h.add(|r| r.settle_secs = 1.5);
    h.start();
    h.wait_watching(&id).await;
    let path = h.dir.join("slow.png");
    let full = png(500_000);
    {
        use std::io::Write;
        let mut f = std::fs::File::create(&path).unwrap();
        for piece in full.chunks(100_004) {
            f.write_all(piece).unwrap();
            f.flush().unwrap();
            // Check the file is visible as waiting, never taken half-written.
            tokio::time::sleep(Duration::from_millis(1000)).await;
            assert_eq!(h.jobs_done(), 0, "nothing taken while it is being written");
        }
    }
    wait_for("the upload", Duration::from_secs(20), || h.jobs_done() == 1).await;
    quiet().await;
    assert_eq!(h.uploaded(), vec!["slow.png"]);
    let files = h.library_files();
    assert_eq!(files.len(), 1);
    assert_eq!(std::fs::read(&files[0]).unwrap(), full, "complete");
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn temp_then_rename_is_taken_under_the_final_name_and_mv_from_outside_counts() {
    let mut h = Harness::new();
    let id = h.add(|_| {});
    h.start();
    h.wait_watching(&id).await;
    write(&h.dir.join("x.tmp"), &png(1000));
    std::fs::rename(h.dir.join("x.tmp"), h.dir.join("x.jpg")).unwrap();
    let outside = h.t.dir.path().join("outside.png");
    write(&outside, &png(2000));
    std::fs::rename(&outside, h.dir.join("moved-in.png")).unwrap();
    wait_for("both uploads", Duration::from_secs(15), || {
        h.jobs_done() == 2
    })
    .await;
    quiet().await;
    assert_eq!(h.uploaded(), vec!["moved-in.png", "x.jpg"]);
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_512_mib_copy_is_uploaded_once_after_it_ends() {
    let mut h = Harness::new();
    let id = h.add(|r| r.settle_secs = 1.0);
    h.start();
    h.wait_watching(&id).await;
    let src = h.t.dir.path().join("big.mp4");
    {
        let mut f = std::fs::File::create(&src).unwrap();
        let block = crate::support::noise(1 << 20);
        for _ in 0..512 {
            std::io::Write::write_all(&mut f, &block).unwrap();
        }
    }
    // A real copy by another program, as a person's file manager or shell makes it.
    #[cfg(unix)]
    let status = std::process::Command::new("cp")
        .arg(&src)
        .arg(h.dir.join("big.mp4"))
        .status()
        .unwrap();
    #[cfg(windows)]
    let status = std::process::Command::new("cmd")
        .args(["/C", "copy", "/Y"])
        .arg(&src)
        .arg(h.dir.join("big.mp4"))
        .status()
        .unwrap();
    assert!(status.success());
    wait_for("the upload", Duration::from_secs(120), || {
        h.jobs_done() == 1
    })
    .await;
    quiet().await;
    assert_eq!(h.uploaded(), vec!["big.mp4"]);
    let files = h.library_files();
    assert_eq!(files.len(), 1);
    assert_eq!(std::fs::metadata(&files[0]).unwrap().len(), 512 << 20);
    h.stop().await;
}

/// How many files the burst writes: 10,000; 2,000 as a Windows program under Wine, where
/// every file operation goes through wineserver and the burst alone would take minutes
/// (still far more events than ReadDirectoryChangesW's buffer holds).
const BURST: usize = if cfg!(windows) { 2_000 } else { 10_000 };

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_thousands_of_files_is_all_uploaded_none_twice() {
    let mut h = Harness::new();
    let id = h.add(|_| {});
    h.start();
    h.wait_watching(&id).await;
    for i in 0..BURST {
        write(
            &h.dir.join(format!("f{i:05}.bin")),
            format!("file number {i}").as_bytes(),
        );
    }
    wait_for("every upload", Duration::from_secs(300), || {
        h.jobs_done() >= BURST
    })
    .await;
    quiet().await;
    let names = h.uploaded();
    assert_eq!(names.len(), BURST, "none missed, none twice");
    let mut dedup = names.clone();
    dedup.dedup();
    assert_eq!(dedup.len(), BURST);
    assert_eq!(h.library_files().len(), BURST);
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn files_added_while_stopped_are_uploaded_at_the_next_start() {
    let mut h = Harness::new();
    write(&h.dir.join("before.png"), &png(100));
    let id = h.add(|r| r.existing = Existing::Skip);
    h.start();
    h.wait_watching(&id).await;
    write(&h.dir.join("first.png"), &png(200));
    wait_for("first", Duration::from_secs(10), || h.jobs_done() == 1).await;
    h.stop().await;
    write(&h.dir.join("while-stopped.png"), &png(300));
    h.start();
    wait_for("catch-up", Duration::from_secs(15), || h.jobs_done() == 2).await;
    quiet().await;
    assert_eq!(
        h.uploaded(),
        vec!["first.png", "while-stopped.png"],
        "existing files were skipped"
    );
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn existing_import_takes_what_is_already_there() {
    let mut h = Harness::new();
    write(&h.dir.join("old.png"), &png(100));
    let id = h.add(|r| r.existing = Existing::Import);
    h.start();
    h.wait_watching(&id).await;
    wait_for("the import", Duration::from_secs(10), || h.jobs_done() == 1).await;
    assert_eq!(h.uploaded(), vec!["old.png"]);
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rename_is_not_uploaded_again_but_an_edit_is() {
    let mut h = Harness::new();
    let id = h.add(|_| {});
    h.start();
    h.wait_watching(&id).await;
    write(&h.dir.join("a.png"), &png(1000));
    wait_for("upload", Duration::from_secs(10), || h.jobs_done() == 1).await;
    std::fs::rename(h.dir.join("a.png"), h.dir.join("b.png")).unwrap();
    quiet().await;
    assert_eq!(h.library_files().len(), 1, "a rename sends nothing");
    let mut edited = png(1000);
    edited[500] ^= 1;
    write(&h.dir.join("b.png"), &edited);
    wait_for("the edit", Duration::from_secs(10), || {
        h.library_files().len() == 2
    })
    .await;
    quiet().await;
    assert_eq!(h.library_files().len(), 2);
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn excluded_and_temp_names_are_never_uploaded() {
    let mut h = Harness::new();
    let id = h.add(|r| r.exclude = vec!["*.raw".into()]);
    h.start();
    h.wait_watching(&id).await;
    for n in [
        "a.part",
        "b.crdownload",
        "c.tmp",
        ".hidden.png",
        "~$d.png",
        "e.png~",
        "f.raw",
        ".DS_Store",
    ] {
        write(&h.dir.join(n), &png(50));
    }
    write(&h.dir.join("real.png"), &png(60));
    wait_for("real.png", Duration::from_secs(10), || h.jobs_done() == 1).await;
    quiet().await;
    assert_eq!(h.uploaded(), vec!["real.png"]);
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_upload_move_and_delete_happen_only_after_success() {
    let mut h = Harness::new();
    let moved = h.add(|r| r.after = After::Move("done".into()));
    h.start();
    h.wait_watching(&moved).await;
    write(&h.dir.join("m.png"), &png(100));
    wait_for("moved", Duration::from_secs(10), || {
        h.dir.join("done/m.png").exists()
    })
    .await;
    assert!(!h.dir.join("m.png").exists());
    quiet().await;
    assert_eq!(
        h.uploaded(),
        vec!["m.png"],
        "the moved file is not taken again"
    );
    h.stop().await;

    // A destination that refuses (bad key): delete must not happen.
    let f = ferry_fakes::Fakes::start(ferry_fakes::Options::default()).await;
    let t = TestEngine::with_account(
        Kind::Synposter,
        &[("api_url", f.synposter.api_url())],
        Some("sk_live_wrongwrongwrongwrongwrongwrong00"),
    );
    let dir = t.dir.path().join("w");
    std::fs::create_dir_all(&dir).unwrap();
    let mut r = NewRule::new(&dir, "dest");
    r.settle_secs = 0.3;
    r.after = After::Delete;
    let id = t.engine.watch_add(r).unwrap().id;
    let stop = CancellationToken::new();
    let task = tokio::spawn({
        let (e, s) = (t.engine.clone(), stop.clone());
        async move { e.watch_run(s).await.unwrap() }
    });
    wait_for("watching", Duration::from_secs(10), || {
        t.engine
            .watch_list()
            .unwrap()
            .iter()
            .any(|v| v.rule.id == id && v.state == "watching")
    })
    .await;
    write(&dir.join("keep-me.png"), &png(100));
    wait_for("the failure", Duration::from_secs(10), || {
        t.engine
            .jobs(false)
            .unwrap()
            .iter()
            .any(|j| j.status == JobStatus::Failed)
    })
    .await;
    quiet().await;
    assert!(dir.join("keep-me.png").exists(), "never deleted on failure");
    stop.cancel();
    task.await.unwrap();
}

// Not under Wine: it keeps a deleted folder that is being watched until the watch's
// handle closes (no POSIX delete semantics), so the folder never looks gone.
#[cfg(not(windows))]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_folder_removed_then_recreated_recovers() {
    let mut h = Harness::new();
    let id = h.add(|_| {});
    h.start();
    h.wait_watching(&id).await;
    std::fs::remove_dir_all(&h.dir).unwrap();
    wait_for("unavailable", Duration::from_secs(10), || {
        h.engine()
            .watch_list()
            .unwrap()
            .iter()
            .any(|v| v.state == "unavailable" && v.reason.is_some())
    })
    .await;
    std::fs::create_dir_all(&h.dir).unwrap();
    h.wait_watching(&id).await;
    write(&h.dir.join("back.png"), &png(100));
    wait_for("upload after recovery", Duration::from_secs(10), || {
        h.jobs_done() == 1
    })
    .await;
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_symlink_loop_does_not_hang_the_scan() {
    let mut h = Harness::new();
    std::fs::create_dir_all(h.dir.join("sub")).unwrap();
    #[cfg(unix)]
    std::os::unix::fs::symlink(&h.dir, h.dir.join("sub/loop")).unwrap();
    // Windows: a directory symlink needs Developer Mode or an elevated shell (Wine allows).
    #[cfg(windows)]
    std::os::windows::fs::symlink_dir(&h.dir, h.dir.join("sub/loop")).unwrap();
    write(&h.dir.join("sub/deep.png"), &png(100));
    let id = h.add(|r| {
        r.recursive = true;
        r.existing = Existing::Import;
    });
    h.start();
    h.wait_watching(&id).await;
    wait_for("upload", Duration::from_secs(10), || h.jobs_done() == 1).await;
    quiet().await;
    assert_eq!(h.uploaded(), vec!["deep.png"]);
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_overflow_rescan_finds_every_file_whose_events_were_lost() {
    let mut h = Harness::new();
    let id = h.add(|_| {});
    h.start();
    h.wait_watching(&id).await;
    h.engine().watch_drop_events(&id, true);
    for i in 0..50 {
        write(&h.dir.join(format!("lost{i}.png")), &png(100 + i));
    }
    quiet().await;
    assert_eq!(h.jobs_done(), 0, "their events were lost");
    h.engine().watch_drop_events(&id, false);
    let overflow =
        notify::Event::new(notify::EventKind::Other).set_flag(notify::event::Flag::Rescan);
    assert!(h.engine().watch_inject(&id, Ok(overflow)));
    wait_for("the rescan's uploads", Duration::from_secs(20), || {
        h.jobs_done() == 50
    })
    .await;
    quiet().await;
    assert_eq!(h.uploaded().len(), 50);
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pause_resume_and_remove_rules() {
    let h = Harness::new();
    let id = h.add(|_| {});
    assert!(h.engine().watch_pause(&id).unwrap().paused);
    assert_eq!(h.engine().watch_list().unwrap()[0].state, "paused");
    assert!(!h.engine().watch_resume(&id).unwrap().paused);
    assert!(
        h.engine().watch_add(NewRule::new(&h.dir, "dest")).is_err(),
        "no duplicate rule"
    );
    assert!(h
        .engine()
        .watch_add(NewRule::new(h.dir.join("nope"), "dest"))
        .is_err());
    h.engine().watch_remove(&id).unwrap();
    assert!(h.engine().watch_list().unwrap().is_empty());
    assert!(h.engine().watch_remove(&id).is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn where_watches_cannot_be_added_the_rule_polls_and_says_why() {
    let mut h = Harness::new();
    h.engine().watch_force_polling(true);
    let id = h.add(|_| {});
    h.start();
    wait_for("degraded polling", Duration::from_secs(10), || {
        h.engine().watch_list().unwrap().iter().any(|v| {
            v.rule.id == id
                && v.state == "degraded-polling"
                && v.reason.as_deref().is_some_and(|r| r.contains("polling"))
        })
    })
    .await;
    write(&h.dir.join("polled.png"), &png(100));
    wait_for("the upload by polling", Duration::from_secs(15), || {
        h.jobs_done() == 1
    })
    .await;
    h.stop().await;
    let limit = notify::Error::new(notify::ErrorKind::MaxFilesWatch);
    let why = ferry_core::watch::runtime::polling_reason(&limit);
    assert!(
        why.contains("fs.inotify.max_user_watches"),
        "says the fix: {why}"
    );
}

// ----- after-upload actions touch only what was sent --------------------------------

/// Wait until a job's after-upload action is settled; its state (`done: …`/`kept: …`).
async fn after_state(engine: &Engine, job: ferry_core::JobId) -> String {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(s) = engine.after_state(job).unwrap() {
            if s != "pending" {
                return s;
            }
        }
        assert!(
            Instant::now() < deadline,
            "the after-upload action never settled"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_removed_rules_id_is_never_reused_so_its_old_jobs_never_get_a_new_delete() {
    let mut h = Harness::new();
    let old = h.add(|_| {});
    assert_eq!(old, "w1");
    // A job of w1 is still waiting when w1 is removed (say the app was quit meanwhile).
    let keep = h.dir.join("keep-me.png");
    write(&keep, &png(3000));
    let job = h
        .engine()
        .enqueue_paths(std::slice::from_ref(&keep), "dest", "watch:w1", false)
        .unwrap()[0];
    h.engine().watch_remove(&old).unwrap();
    // A new rule on the same folder deletes after upload: it must not be `w1`.
    let new = h.add(|r| r.after = After::Delete);
    assert_eq!(new, "w2", "ids are never reused");
    h.start();
    h.wait_watching(&new).await;
    let state = after_state(h.engine(), job).await;
    assert!(
        state.starts_with("kept: its watch rule w1 was removed"),
        "{state}"
    );
    assert!(keep.exists(), "the old rule's file is kept");
    // Even across a restart with a config that lost the counter.
    h.stop().await;
    h.engine().watch_remove(&new).unwrap();
    assert_eq!(h.add(|_| {}), "w3");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_action_never_touches_a_file_outside_the_rules_folder() {
    let mut h = Harness::new();
    let id = h.add(|r| r.after = After::Delete);
    let outside = h.t.dir.path().join("elsewhere.png");
    write(&outside, &png(4000));
    let job = h
        .engine()
        .enqueue_paths(
            std::slice::from_ref(&outside),
            "dest",
            &format!("watch:{id}"),
            false,
        )
        .unwrap()[0];
    h.start();
    let state = after_state(h.engine(), job).await;
    assert!(
        state.starts_with("kept: it is not inside the rule's folder"),
        "{state}"
    );
    assert!(outside.exists());
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn moving_two_files_of_the_same_name_keeps_both_originals() {
    let mut h = Harness::new();
    let id = h.add(|r| r.after = After::Move("done".into()));
    h.start();
    h.wait_watching(&id).await;
    // Cameras and screenshot tools repeat names: the same name, different pictures.
    write(&h.dir.join("IMG_0001.PNG"), &png(5000));
    wait_for("the first move", Duration::from_secs(15), || {
        h.dir.join("done/IMG_0001.PNG").exists()
    })
    .await;
    write(&h.dir.join("IMG_0001.PNG"), &png(6000));
    wait_for("the second move", Duration::from_secs(15), || {
        h.dir.join("done/IMG_0001 (2).PNG").exists()
    })
    .await;
    assert_eq!(
        std::fs::read(h.dir.join("done/IMG_0001.PNG")).unwrap(),
        png(5000)
    );
    assert_eq!(
        std::fs::read(h.dir.join("done/IMG_0001 (2).PNG")).unwrap(),
        png(6000)
    );
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_changed_after_its_upload_stays_and_its_new_version_is_sent() {
    let mut h = Harness::new();
    let v1 = png(7000);
    let path = h.dir.join("draft.png");
    write(&path, &v1);
    // The rule's first pass took draft.png; its upload finished while the watcher was
    // not running (a previous session) and the action is still pending.
    let id = h.add(|r| {
        r.after = After::Delete;
        r.existing = Existing::Skip;
    });
    let job = h
        .engine()
        .enqueue_paths(
            std::slice::from_ref(&path),
            "dest",
            &format!("watch:{id}"),
            false,
        )
        .unwrap()[0];
    h.t.run(job).await.unwrap();
    // The person saves a new version before the action runs.
    std::thread::sleep(Duration::from_millis(20));
    let v2 = png(7100);
    write(&path, &v2);
    h.start();
    let state = after_state(h.engine(), job).await;
    assert!(
        state.starts_with("kept: it changed after the upload"),
        "{state}"
    );
    // The new version is the rule's to send, and once sent, its delete applies.
    wait_for(
        "the new version sent and deleted",
        Duration::from_secs(20),
        || h.jobs_done() == 2 && !path.exists(),
    )
    .await;
    let sizes: Vec<u64> = h
        .engine()
        .library(&Filter::default())
        .unwrap()
        .iter()
        .filter_map(|i| i.size)
        .collect();
    assert!(
        sizes.contains(&(v1.len() as u64)) && sizes.contains(&(v2.len() as u64)),
        "{sizes:?}"
    );
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dedupe_hit_whose_copy_is_gone_is_sent_again_before_the_original_is_deleted() {
    let mut h = Harness::new();
    let bytes = png(8000);
    // Sent once by hand; then someone cleans out the library folder.
    let first = h.t.file("first.png", &bytes);
    h.t.upload(&first).await.unwrap();
    for f in h.library_files() {
        std::fs::remove_file(f).unwrap();
    }
    let id = h.add(|r| r.after = After::Delete);
    h.start();
    h.wait_watching(&id).await;
    write(&h.dir.join("again.png"), &bytes);
    wait_for(
        "the copy sent again and the original deleted",
        Duration::from_secs(20),
        || !h.dir.join("again.png").exists(),
    )
    .await;
    let files = h.library_files();
    assert_eq!(
        files.len(),
        1,
        "a copy exists again before the original went"
    );
    assert_eq!(std::fs::read(&files[0]).unwrap(), bytes);
    let job = h
        .engine()
        .jobs(false)
        .unwrap()
        .into_iter()
        .find(|j| j.origin.starts_with("watch:"))
        .unwrap();
    assert!(!job.deduplicated, "not trusted: the earlier copy was gone");
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fastpix_upload_deletes_its_original_only_once_the_asset_is_ready() {
    let f = ferry_fakes::Fakes::start(ferry_fakes::Options {
        fastpix_processing_steps: 2,
        ..Default::default()
    })
    .await;
    let t = TestEngine::with_account(
        Kind::Fastpix,
        &[
            ("api_url", f.fastpix.api_url()),
            ("token_id", ferry_fakes::FASTPIX_TOKEN_ID.to_string()),
        ],
        Some(ferry_fakes::FASTPIX_SECRET),
    );
    let dir = t.dir.path().join("clips");
    std::fs::create_dir_all(&dir).unwrap();
    let mut r = NewRule::new(&dir, "dest");
    r.settle_secs = 0.3;
    r.after = After::Delete;
    t.engine.watch_add(r).unwrap();
    let stop = CancellationToken::new();
    let task = tokio::spawn({
        let (e, s) = (t.engine.clone(), stop.clone());
        async move { e.watch_run(s).await.unwrap() }
    });
    let clip = dir.join("clip.mp4");
    write(&clip, &crate::support::mp4(300_000));
    let engine = t.engine.clone();
    wait_for("the upload", Duration::from_secs(20), || {
        engine
            .jobs(false)
            .unwrap()
            .iter()
            .any(|j| j.status == JobStatus::Succeeded)
    })
    .await;
    // Uploaded but still processing at FastPix: the original stays.
    let item = &t.engine.library(&Filter::default()).unwrap()[0];
    assert_eq!(item.status, ferry_core::library::ItemStatus::Processing);
    assert!(clip.exists(), "kept while the asset is processing");
    wait_for("ready, then deleted", Duration::from_secs(30), || {
        !clip.exists()
    })
    .await;
    assert_eq!(
        t.engine.library(&Filter::default()).unwrap()[0].status,
        ferry_core::library::ItemStatus::Ready
    );
    stop.cancel();
    task.await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_is_marked_taken_only_together_with_the_job_that_sends_it() {
    let mut h = Harness::new();
    let id = h.add(|_| {});
    // While the "taken" marks cannot be written (the instant a crash or stop lands
    // between two separate writes), no job may exist without its mark.
    let db = rusqlite::Connection::open(h.engine().home().data_dir.join("ferry.db")).unwrap();
    db.execute_batch(
        "CREATE TRIGGER no_marks BEFORE INSERT ON watch_seen BEGIN SELECT RAISE(ABORT, 'no marks'); END;",
    )
    .unwrap();
    h.start();
    h.wait_watching(&id).await;
    write(&h.dir.join("a.png"), &png(9000));
    tokio::time::sleep(Duration::from_millis(2000)).await;
    assert!(
        h.engine().jobs(false).unwrap().is_empty(),
        "no job without its mark"
    );
    db.execute_batch("DROP TRIGGER no_marks").unwrap();
    wait_for("the upload", Duration::from_secs(15), || h.jobs_done() == 1).await;
    // A restart scans everything: the file was marked with its job, so it is not taken
    // a second time.
    h.stop().await;
    h.start();
    h.wait_watching(&id).await;
    quiet().await;
    assert_eq!(
        h.engine().jobs(false).unwrap().len(),
        1,
        "taken exactly once"
    );
    h.stop().await;
}

#[test]
fn a_rule_never_watches_ferrys_own_folders() {
    let scratch = tempfile::tempdir().unwrap();
    let lib = scratch.path().join("lib");
    std::fs::create_dir_all(&lib).unwrap();
    let t = TestEngine::with_account(Kind::Local, &[("dir", lib.display().to_string())], None);
    let home = t.engine.home().data_dir.clone();
    let refused = |dir: &Path, recursive: bool, exclude: &[&str]| {
        let mut r = NewRule::new(dir, "dest");
        r.recursive = recursive;
        r.exclude = exclude.iter().map(|s| s.to_string()).collect();
        t.engine.watch_add(r).err()
    };
    let e = refused(&home, false, &[]).expect("FERRY_HOME is refused");
    assert_eq!(e.code, ferry_core::Code::ConfigInvalid);
    assert!(e.message.contains("Ferry's home folder"), "{}", e.message);
    std::fs::create_dir_all(home.join("library")).unwrap();
    assert!(
        refused(&home.join("library"), false, &[]).is_some(),
        "inside the home"
    );
    let e = refused(&lib, true, &[]).expect("a library folder is refused");
    assert!(e.message.contains("library folder"), "{}", e.message);
    // A folder that contains the home: refused when the rule would reach it…
    let parent = t.dir.path();
    let e = refused(parent, true, &[]).expect("a folder containing the home");
    assert!(
        e.message.contains("exclude"),
        "says what to do: {}",
        e.message
    );
    // …and fine when it cannot: not recursive, or the home excluded.
    assert!(refused(parent, false, &[]).is_none());
    t.engine.watch_remove("w1").unwrap();
    assert!(refused(parent, true, &["home/**"]).is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rule_with_several_destinations_sends_each_file_to_each_and_moves_it_only_once_all_have_it(
) {
    let f = ferry_fakes::Fakes::start(ferry_fakes::Options::default()).await;
    let mut h = Harness::new();
    let add = |name: &str, key: &str| {
        h.engine()
            .account_add(
                name,
                Kind::Synposter,
                &[("api_url".into(), f.synposter.api_url())],
                ferry_core::SecretInput::Value(ferry_core::secrets::Secret::new(key)),
            )
            .unwrap();
    };
    add("sp", ferry_fakes::SYNPOSTER_KEY);
    add("bad", "sk_live_wrongwrongwrongwrongwrongwrong00");
    let id = h.add(|r| {
        r.also = vec!["sp".into(), "dest".into()];
        r.after = After::Move("done".into());
    });
    let rule = h
        .engine()
        .watch_rules()
        .into_iter()
        .find(|r| r.id == id)
        .unwrap();
    assert_eq!(rule.accounts(), ["dest", "sp"], "each destination once");
    h.start();
    h.wait_watching(&id).await;
    write(&h.dir.join("m.png"), &png(3000));
    wait_for("moved", Duration::from_secs(15), || {
        h.dir.join("done/m.png").exists()
    })
    .await;
    let jobs = h.engine().jobs(false).unwrap();
    let mut to: Vec<(&str, JobStatus)> = jobs
        .iter()
        .map(|j| (j.account.as_str(), j.status))
        .collect();
    to.sort_by_key(|(a, _)| a.to_string());
    assert_eq!(
        to,
        [("dest", JobStatus::Succeeded), ("sp", JobStatus::Succeeded)]
    );
    assert_eq!(f.synposter.objects().len(), 1);
    assert_eq!(
        h.uploaded(),
        vec!["m.png", "m.png"],
        "one item at each destination"
    );
    assert_eq!(h.library_files().len(), 1);
    h.stop().await;

    // One destination refuses: the other has the file, but it is not deleted.
    let mut h2 = Harness::new();
    h2.engine()
        .account_add(
            "bad",
            Kind::Synposter,
            &[("api_url".into(), f.synposter.api_url())],
            ferry_core::SecretInput::Value(ferry_core::secrets::Secret::new(
                "sk_live_wrongwrongwrongwrongwrongwrong00",
            )),
        )
        .unwrap();
    let id = h2.add(|r| {
        r.also = vec!["bad".into()];
        r.after = After::Delete;
    });
    h2.start();
    h2.wait_watching(&id).await;
    write(&h2.dir.join("d.png"), &png(3000));
    wait_for("both jobs to end", Duration::from_secs(15), || {
        let jobs = h2.engine().jobs(false).unwrap();
        jobs.len() == 2
            && jobs
                .iter()
                .all(|j| j.status.is_final() || j.status == JobStatus::Failed)
    })
    .await;
    quiet().await;
    assert_eq!(h2.uploaded(), vec!["d.png"], "at the library");
    assert!(
        h2.dir.join("d.png").exists(),
        "kept: not at every destination"
    );
    h2.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rule_with_several_destinations_deletes_only_once_every_copy_is_ready() {
    let f = ferry_fakes::Fakes::start(ferry_fakes::Options {
        fastpix_processing_steps: 2,
        ..Default::default()
    })
    .await;
    let mut h = Harness::new();
    h.engine()
        .account_add(
            "fp",
            Kind::Fastpix,
            &[
                ("api_url".into(), f.fastpix.api_url()),
                ("token_id".into(), ferry_fakes::FASTPIX_TOKEN_ID.to_string()),
            ],
            ferry_core::SecretInput::Value(ferry_core::secrets::Secret::new(
                ferry_fakes::FASTPIX_SECRET,
            )),
        )
        .unwrap();
    let id = h.add(|r| {
        r.also = vec!["fp".into()];
        r.after = After::Delete;
    });
    h.start();
    h.wait_watching(&id).await;
    let clip = h.dir.join("clip.mp4");
    write(&clip, &crate::support::mp4(300_000));
    wait_for("both uploads", Duration::from_secs(20), || {
        let jobs = h.engine().jobs(false).unwrap();
        jobs.len() == 2 && jobs.iter().all(|j| j.status == JobStatus::Succeeded)
    })
    .await;
    // At the library (ready) and at FastPix (still processing): the original stays.
    let fp = h
        .engine()
        .library(&Filter::default())
        .unwrap()
        .into_iter()
        .find(|i| i.account == "fp")
        .unwrap();
    assert_eq!(fp.status, ferry_core::library::ItemStatus::Processing);
    assert!(clip.exists(), "kept while a copy is processing");
    wait_for(
        "FastPix ready, then deleted",
        Duration::from_secs(30),
        || !clip.exists(),
    )
    .await;
    h.stop().await;
}
