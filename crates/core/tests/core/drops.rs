//! Big drops and pastes: folders walked as a stream and queued in batches (a few commits,
//! not one per file), in name order, media only, at most the cap, stoppable; a long
//! paste written in one pass; many jobs announced with one event.

use ferry_core::{Event, Kind};

use crate::support::{png, TestEngine};

/// An engine whose `dest` is a library folder (nothing is uploaded here: these tests only
/// queue), and that folder.
fn local() -> (TestEngine, tempfile::TempDir) {
    let lib = tempfile::tempdir().unwrap();
    let t = TestEngine::with_account(
        Kind::Local,
        &[("dir", lib.path().display().to_string())],
        None,
    );
    (t, lib)
}

/// `n` small PNGs in nested folders under `root`, plus a text file and a hidden file.
fn tree(root: &std::path::Path, n: usize) {
    for i in 0..n {
        let dir = root
            .join(format!("d{:02}", i % 7))
            .join(format!("e{}", i % 3));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(format!("p{i:05}.png")), png(64)).unwrap();
    }
    std::fs::write(root.join("notes.txt"), b"not media").unwrap();
    std::fs::write(root.join(".hidden.png"), png(64)).unwrap();
}

#[test]
fn a_big_folder_is_queued_in_batches_in_name_order_with_media_only() {
    let (t, _lib) = local();
    let root = t.dir.path().join("drop");
    tree(&root, 2_500);
    let mut events = t.engine.subscribe();
    let commits = t.engine.db_commits();
    let (ids, added) = t
        .engine
        .enqueue_tree(std::slice::from_ref(&root), "dest", "drop", 50_000)
        .unwrap();
    assert_eq!(ids.len(), 2_500);
    assert_eq!(added.queued, 2_500);
    assert_eq!(added.not_media, 1, "notes.txt");
    assert!(!added.capped && !added.stopped);
    // Three batches of at most 1,000: three commits, not 2,500.
    assert_eq!(t.engine.db_commits() - commits, 3);

    let jobs = t.engine.jobs(true).unwrap();
    let inputs: Vec<String> = jobs.iter().map(|j| j.input.clone()).collect();
    let mut sorted = inputs.clone();
    sorted.sort();
    assert_eq!(inputs, sorted, "depth first, each folder in name order");
    assert!(!inputs.iter().any(|i| i.contains(".hidden")));

    // One event per batch for the queue (not 2,500), and the addition's counts.
    let mut bulk = 0;
    let mut adding = Vec::new();
    while let Ok(e) = events.try_recv() {
        match e {
            Event::JobsAdded { count } => bulk += count,
            Event::JobAdded { .. } => panic!("a big drop is announced in bulk"),
            Event::Adding {
                added, done, cap, ..
            } => adding.push((added.queued, done, cap)),
            _ => {}
        }
    }
    assert_eq!(bulk, 2_500);
    assert_eq!(
        adding,
        vec![
            (1_000, false, 50_000),
            (2_000, false, 50_000),
            (2_500, false, 50_000),
            (2_500, true, 50_000)
        ]
    );
}

#[test]
fn the_cap_stops_a_drop_and_says_so() {
    let (t, _lib) = local();
    let root = t.dir.path().join("drop");
    tree(&root, 30);
    let (ids, added) = t
        .engine
        .enqueue_tree(std::slice::from_ref(&root), "dest", "drop", 12)
        .unwrap();
    assert_eq!(ids.len(), 12);
    assert!(added.capped);
    assert!(!added.stopped);
    // A folder with more files than the cap is capped, one with exactly as many is not.
    let (ids, added) = t
        .engine
        .enqueue_tree(&[root.join("d00")], "dest", "drop", 2)
        .unwrap();
    assert_eq!(ids.len(), 2);
    assert!(added.capped, "d00 holds 5");
    let (ids, added) = t
        .engine
        .enqueue_tree(&[root.join("d00").join("e0")], "dest", "drop", 2)
        .unwrap();
    assert_eq!(ids.len(), 2);
    assert!(!added.capped, "d00/e0 holds exactly 2");
}

#[test]
fn stop_ends_an_addition_in_progress_and_keeps_what_it_queued() {
    let (t, _lib) = local();
    let root = t.dir.path().join("drop");
    tree(&root, 5_000);
    let engine = t.engine.clone();
    let mut events = t.engine.subscribe();
    let adder = std::thread::spawn(move || {
        engine
            .enqueue_tree(&[root], "dest", "drop", 50_000)
            .unwrap()
    });
    // Stop once the first batch is in.
    loop {
        match events.blocking_recv().unwrap() {
            Event::Adding { added, .. } if added.queued >= 1_000 => break,
            _ => {}
        }
    }
    t.engine.stop_adding();
    let (ids, added) = adder.join().unwrap();
    assert!(added.stopped);
    assert!(ids.len() < 5_000, "{}", ids.len());
    assert_eq!(
        t.engine.jobs(true).unwrap().len(),
        ids.len(),
        "what was queued stays"
    );
    // A later drop is not stopped by the earlier Stop.
    let more = t.dir.path().join("more");
    tree(&more, 2);
    let (ids, added) = t
        .engine
        .enqueue_tree(&[more], "dest", "drop", 50_000)
        .unwrap();
    assert_eq!(ids.len(), 2);
    assert!(!added.stopped);
}

#[test]
fn a_long_paste_is_written_in_one_commit_and_announced_once() {
    let (t, _lib) = local();
    let urls: Vec<String> = (0..20_000)
        .map(|i| {
            if i % 1_000 == 7 {
                format!("not a url {i}")
            } else {
                format!("https://example.test/media/{i}.jpg")
            }
        })
        .collect();
    let mut events = t.engine.subscribe();
    let commits = t.engine.db_commits();
    let results = t.engine.enqueue_urls(&urls, "dest", "paste").unwrap();
    assert_eq!(t.engine.db_commits() - commits, 1);
    assert_eq!(results.len(), 20_000);
    assert_eq!(results.iter().filter(|r| r.is_err()).count(), 20);
    assert!(results[7].is_err() && results[8].is_ok());
    // Ids in line order.
    let ids: Vec<i64> = results
        .iter()
        .filter_map(|r| r.as_ref().ok().copied())
        .collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]));
    let job = t.engine.job(*results[8].as_ref().unwrap()).unwrap();
    assert_eq!(job.input, "https://example.test/media/8.jpg");
    let mut bulk = 0;
    while let Ok(e) = events.try_recv() {
        if let Event::JobsAdded { count } = e {
            bulk += count;
        }
    }
    assert_eq!(bulk, 19_980);
}

#[test]
fn the_queue_is_busy_while_a_job_is_left_to_send_and_not_after() {
    let (t, _lib) = local();
    assert!(!t.engine.queue_busy().unwrap(), "an empty queue");
    let root = t.dir.path().join("drop");
    tree(&root, 3);
    let (ids, _) = t
        .engine
        .enqueue_tree(std::slice::from_ref(&root), "dest", "drop", 50_000)
        .unwrap();
    assert!(t.engine.queue_busy().unwrap(), "three queued");
    // Paused jobs wait on a person, not on the queue.
    t.engine.pause(ferry_core::Selector::All).unwrap();
    assert!(!t.engine.queue_busy().unwrap(), "all paused");
    t.engine.resume(ferry_core::Selector::One(ids[0])).unwrap();
    assert!(t.engine.queue_busy().unwrap(), "one queued again");
}
