//! The order jobs start in: "move to top" and the `queue_order` setting, with a real
//! runner sending to the local library, one file at a time so the order of successes is
//! the order of starts; and the journal's pick over its order indexes.

use std::sync::Arc;

use ferry_core::config::Home;
use ferry_core::db::Db;
use ferry_core::queue::journal::JobsTable;
use ferry_core::queue::{NewJob, SourceKind};
use ferry_core::secrets::MemoryStore;
use ferry_core::{Engine, Event, JobId, Kind, QueueOrder, RunOptions};

use crate::support::{png, TestEngine};

/// Run every queued job one at a time; the ids in the order they succeeded.
async fn run_one_at_a_time(engine: &Arc<Engine>) -> Vec<JobId> {
    let mut events = engine.subscribe();
    engine
        .run(RunOptions {
            concurrency: Some(1),
            ..RunOptions::default()
        })
        .await
        .unwrap();
    let mut done = Vec::new();
    while let Ok(ev) = events.try_recv() {
        if let Event::JobSucceeded { job } = ev {
            done.push(job.id);
        }
    }
    done
}

/// Files of these sizes (bytes after the PNG header), queued in this order.
fn queue_sizes(t: &TestEngine, sizes: &[usize]) -> Vec<JobId> {
    let paths: Vec<_> = sizes
        .iter()
        .enumerate()
        .map(|(i, n)| t.file(&format!("f{i}.png"), &png(*n)))
        .collect();
    t.engine
        .enqueue_paths(&paths, "dest", "test", false)
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jobs_moved_to_the_top_start_first_in_the_order_given_then_the_rest_as_added() {
    let t = TestEngine::with_account(Kind::Local, &[], None);
    let ids = queue_sizes(&t, &[10, 20, 30, 40, 50]);
    assert_eq!(t.engine.move_to_top(&[ids[3], ids[1]]).unwrap(), 2);
    let job = t.engine.job(ids[3]).unwrap();
    assert!(job.priority > t.engine.job(ids[1]).unwrap().priority);
    assert_eq!(t.engine.job(ids[0]).unwrap().priority, 0);
    let order = run_one_at_a_time(&t.engine).await;
    assert_eq!(order, vec![ids[3], ids[1], ids[0], ids[2], ids[4]]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn small_files_first_starts_the_smallest_but_a_job_moved_to_the_top_before_it() {
    let t = TestEngine::with_account(Kind::Local, &[], None);
    t.engine.set_queue_order(QueueOrder::SmallFirst).unwrap();
    let ids = queue_sizes(&t, &[5_000, 100, 3_000, 200, 100]);
    // A second move puts its job ahead of the first one moved.
    t.engine.move_to_top(&[ids[0]]).unwrap();
    t.engine.move_to_top(&[ids[2]]).unwrap();
    let order = run_one_at_a_time(&t.engine).await;
    // Equal sizes keep the order they were added in.
    assert_eq!(order, vec![ids[2], ids[0], ids[1], ids[4], ids[3]]);
}

/// The setting is read before each start: another process (the CLI beside the app)
/// changing it is obeyed by the runner of the home without a restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_order_set_by_another_process_is_the_one_the_runner_follows() {
    let t = TestEngine::with_account(Kind::Local, &[], None);
    let ids = queue_sizes(&t, &[900, 300, 600]);
    let client = Engine::with_secret_store(
        Home::at(t.dir.path().join("home")),
        Arc::new(MemoryStore::default()),
    )
    .unwrap();
    client.set_queue_order(QueueOrder::SmallFirst).unwrap();
    assert_eq!(t.engine.queue_order(), QueueOrder::SmallFirst);
    let order = run_one_at_a_time(&t.engine).await;
    assert_eq!(order, vec![ids[1], ids[2], ids[0]]);
    let text = std::fs::read_to_string(t.dir.path().join("home/config.toml")).unwrap();
    assert!(text.contains("queue_order = \"small-first\""), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_waiting_jobs_move_and_an_unknown_id_moves_nothing() {
    let t = TestEngine::with_account(Kind::Local, &[], None);
    let ids = queue_sizes(&t, &[10, 20]);
    run_one_at_a_time(&t.engine).await;
    let more = queue_sizes(&t, &[30]);
    // A finished job stays where it is; the waiting one moves.
    assert_eq!(t.engine.move_to_top(&[ids[0], more[0]]).unwrap(), 1);
    assert_eq!(t.engine.job(ids[0]).unwrap().priority, 0);
    let e = t.engine.move_to_top(&[more[0], 9_999]).unwrap_err();
    assert_eq!(e.code, ferry_core::Code::JobNotFound);
    assert!(e.message.contains("9999"), "{}", e.message);
    let before = t.engine.job(more[0]).unwrap().priority;
    assert!(before > 0);
    assert_eq!(
        t.engine.job(more[0]).unwrap().priority,
        before,
        "nothing moved"
    );
    // A paused job keeps its place for when it is resumed.
    let paused = queue_sizes(&t, &[40]);
    t.engine
        .pause(ferry_core::Selector::One(paused[0]))
        .unwrap();
    assert_eq!(t.engine.move_to_top(&[paused[0]]).unwrap(), 1);
    t.engine
        .resume(ferry_core::Selector::One(paused[0]))
        .unwrap();
    let order = run_one_at_a_time(&t.engine).await;
    assert_eq!(order, vec![paused[0], more[0]]);
}

fn job(account: &str, kind: SourceKind, size: Option<u64>) -> NewJob {
    NewJob {
        account: account.into(),
        source_kind: kind,
        input: "/x/a.png".into(),
        name: "a.png".into(),
        origin: "test".into(),
        force: false,
        size,
    }
}

/// URL imports (size unknown until fetched) go after every file in "small files
/// first"; busy accounts are skipped in either order, as before.
#[test]
fn unknown_sizes_go_last_and_busy_accounts_are_skipped_in_either_order() {
    let dir = tempfile::tempdir().unwrap();
    let db = Arc::new(Db::open(&dir.path().join("ferry.db")).unwrap());
    let t = JobsTable::new(db);
    let ids = t
        .insert(&[
            job("a", SourceKind::Url, None),
            job("a", SourceKind::Path, Some(1 << 40)),
            job("b", SourceKind::Path, Some(7)),
            job("a", SourceKind::Path, Some(8)),
        ])
        .unwrap();
    let next = |busy: &[&str], order| {
        let busy: Vec<String> = busy.iter().map(|s| s.to_string()).collect();
        t.next_runnable(None, &busy, order).unwrap().map(|j| j.id)
    };
    assert_eq!(next(&[], QueueOrder::Added), Some(ids[0]));
    assert_eq!(next(&[], QueueOrder::SmallFirst), Some(ids[2]));
    assert_eq!(next(&["b"], QueueOrder::SmallFirst), Some(ids[3]));
    assert_eq!(next(&["a"], QueueOrder::Added), Some(ids[2]));
    for id in &ids[1..] {
        t.set_status(*id, ferry_core::JobStatus::Succeeded).unwrap();
    }
    assert_eq!(
        next(&[], QueueOrder::SmallFirst),
        Some(ids[0]),
        "then the URL"
    );
    assert_eq!(t.move_to_top(&[ids[1]]).unwrap(), 0, "finished: not moved");
}

/// Picking the next job walks the order's index from its first entry, never sorts
/// (the queue may hold 200,000 jobs).
#[test]
fn the_next_job_is_picked_from_an_index_in_either_order() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(&dir.path().join("ferry.db")).unwrap();
    let plan = |sql: &str| -> String {
        let conn = db.conn();
        let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
        let rows = stmt
            .query_map([], |r| r.get::<_, String>(3))
            .unwrap()
            .collect::<rusqlite::Result<Vec<_>>>()
            .unwrap();
        rows.join("; ")
    };
    for (index, by) in [
        ("jobs_next_added", "priority DESC, id"),
        ("jobs_next_small", "priority DESC, queued_size, id"),
    ] {
        for cond in [
            "status = 'queued'",
            "status = 'waiting_retry' AND retry_at <= 'x'",
        ] {
            let p = plan(&format!(
                "SELECT id FROM jobs INDEXED BY {index} WHERE {cond} ORDER BY {by}"
            ));
            assert!(p.contains(index), "{p}");
            assert!(!p.contains("TEMP B-TREE"), "sorts: {p}");
        }
    }
}
