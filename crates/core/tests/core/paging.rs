//! Big libraries and queues: the pages of `Library::page` and `JobsTable::page` cover
//! everything exactly once in order, stay put while new rows arrive, combine their
//! filters, and walk an index rather than the table (EXPLAIN QUERY PLAN).

use std::collections::HashSet;
use std::sync::Arc;

use ferry_core::db::Db;
use ferry_core::library::{Filter, ItemStatus, Library, LibraryItem, Provenance};
use ferry_core::queue::journal::JobsTable;
use ferry_core::queue::{JobCursor, NewJob, SourceKind};
use ferry_core::{JobStatus, Kind, MediaStatus, RemoteMedia};

fn open() -> (tempfile::TempDir, Arc<Db>) {
    let dir = tempfile::tempdir().unwrap();
    let db = Arc::new(Db::open(&dir.path().join("ferry.db")).unwrap());
    (dir, db)
}

const ACCOUNTS: [&str; 3] = ["library", "blog", "bucket"];
const NAMES: [&str; 4] = ["Harbour", "team_photo", "100%-done", "Sunrise"];

fn add_item(lib: &Library, n: usize) -> i64 {
    let account = ACCOUNTS[n % 3];
    let media = RemoteMedia {
        id: format!("r{n}"),
        name: format!("{}-{n}.jpg", NAMES[n % 4]),
        url: Some(format!("https://cdn.example.test/{n}.jpg")),
        mime_type: "image/jpeg".into(),
        size: Some(n as u64),
        status: if n.is_multiple_of(7) {
            MediaStatus::Failed
        } else {
            MediaStatus::Ready
        },
        expires_at: None,
    };
    lib.record(
        &media,
        &Provenance {
            account,
            kind: Kind::Local,
            content_hash: None,
            job_id: None,
            source: None,
        },
    )
    .unwrap()
}

/// Every page of `f` from the top, `limit` items each.
fn all_pages(lib: &Library, f: &Filter, limit: usize) -> Vec<LibraryItem> {
    let mut out = Vec::new();
    let mut before = None;
    loop {
        let page = lib
            .page(&Filter {
                limit: Some(limit),
                before,
                ..f.clone()
            })
            .unwrap();
        assert!(page.items.len() <= limit);
        assert_eq!(page.total, lib.count(f).unwrap());
        out.extend(page.items);
        match page.next {
            Some(n) => before = Some(n),
            None => return out,
        }
    }
}

#[test]
fn library_pages_cover_every_matching_item_once_newest_first_under_every_filter() {
    let (_dir, db) = open();
    let lib = Library::new(db);
    for n in 0..250 {
        add_item(&lib, n);
    }
    let everything = lib.list(&Filter::default()).unwrap();
    assert_eq!(everything.len(), 250);
    let filters = [
        Filter::default(),
        Filter {
            account: Some("blog".into()),
            ..Filter::default()
        },
        Filter {
            status: Some(ItemStatus::Failed),
            ..Filter::default()
        },
        Filter {
            search: Some("HARBOUR".into()),
            ..Filter::default()
        },
        Filter {
            account: Some("bucket".into()),
            status: Some(ItemStatus::Ready),
            search: Some("sun".into()),
            ..Filter::default()
        },
        // LIKE's wildcards are plain characters in a search.
        Filter {
            search: Some("_photo".into()),
            ..Filter::default()
        },
        Filter {
            search: Some("%".into()),
            ..Filter::default()
        },
        Filter {
            search: Some("nothing like it".into()),
            ..Filter::default()
        },
    ];
    for f in &filters {
        let expected: Vec<i64> = everything
            .iter()
            .filter(|i| f.account.as_ref().is_none_or(|a| &i.account == a))
            .filter(|i| f.status.is_none_or(|s| i.status == s))
            .filter(|i| {
                f.search.as_ref().is_none_or(|q| {
                    i.name
                        .to_ascii_lowercase()
                        .contains(&q.to_ascii_lowercase())
                })
            })
            .map(|i| i.id)
            .collect();
        for limit in [1, 7, 100, 1000] {
            let got: Vec<i64> = all_pages(&lib, f, limit).iter().map(|i| i.id).collect();
            assert_eq!(got, expected, "filter {f:?}, pages of {limit}");
        }
        assert_eq!(lib.count(f).unwrap() as usize, expected.len(), "{f:?}");
    }
    // Newest first: ids fall, so do creation times.
    assert!(everything.windows(2).all(|w| w[0].id > w[1].id));
    assert!(everything
        .windows(2)
        .all(|w| w[0].created_at >= w[1].created_at));
    // The wildcards matched literally.
    assert!(all_pages(&lib, &filters[5], 50)
        .iter()
        .all(|i| i.name.contains("_photo")));
    assert!(all_pages(&lib, &filters[6], 50)
        .iter()
        .all(|i| i.name.contains('%')));
}

#[test]
fn a_library_cursor_stays_put_while_new_items_arrive() {
    let (_dir, db) = open();
    let lib = Library::new(db);
    for n in 0..30 {
        add_item(&lib, n);
    }
    let first = lib
        .page(&Filter {
            limit: Some(10),
            ..Filter::default()
        })
        .unwrap();
    assert_eq!(first.total, 30);
    for n in 30..40 {
        add_item(&lib, n);
    }
    let mut seen: Vec<i64> = first.items.iter().map(|i| i.id).collect();
    let mut before = first.next;
    while let Some(b) = before {
        let page = lib
            .page(&Filter {
                limit: Some(10),
                before: Some(b),
                ..Filter::default()
            })
            .unwrap();
        assert_eq!(page.total, 40, "the total counts the new items");
        seen.extend(page.items.iter().map(|i| i.id));
        before = page.next;
    }
    // The 30 items there when paging began, each once; the new ones are on a new first page.
    let old: Vec<i64> = lib
        .list(&Filter::default())
        .unwrap()
        .into_iter()
        .skip(10)
        .map(|i| i.id)
        .collect();
    assert_eq!(seen, old);
    let fresh = lib.page(&Filter::default()).unwrap();
    assert_eq!(fresh.items.len(), 40);
    assert_eq!(fresh.next, None);
}

fn jobs_table(db: &Arc<Db>) -> JobsTable {
    JobsTable::new(db.clone())
}

fn add_jobs(t: &JobsTable, n: usize) -> Vec<i64> {
    let new: Vec<NewJob> = (0..n)
        .map(|i| NewJob {
            account: "library".into(),
            source_kind: SourceKind::Path,
            input: format!("/tmp/in/{i}.jpg"),
            name: format!("{i}.jpg"),
            origin: "cli".into(),
            force: false,
            size: None,
        })
        .collect();
    t.insert(&new).unwrap()
}

fn queue_pages(t: &JobsTable, limit: usize) -> Vec<(bool, i64)> {
    let mut out = Vec::new();
    let mut cursor: Option<JobCursor> = None;
    loop {
        let (jobs, next) = t.page(limit, cursor).unwrap();
        assert!(jobs.len() <= limit);
        out.extend(
            jobs.iter()
                .map(|j| (j.status.is_final() && j.status != JobStatus::Failed, j.id)),
        );
        match next {
            Some(c) => cursor = Some(c),
            None => return out,
        }
    }
}

#[test]
fn queue_pages_give_open_jobs_then_finished_ones_each_newest_first_and_once() {
    let (_dir, db) = open();
    let t = jobs_table(&db);
    let ids = add_jobs(&t, 120);
    let status = |i: usize| match i % 6 {
        0..=2 => JobStatus::Succeeded,
        3 => JobStatus::Cancelled,
        4 => JobStatus::Failed,
        _ if i % 12 == 5 => JobStatus::Paused,
        _ => JobStatus::Queued,
    };
    for (i, id) in ids.iter().enumerate() {
        t.set_status(*id, status(i)).unwrap();
    }
    let mut open: Vec<i64> = ids
        .iter()
        .enumerate()
        .filter(|(i, _)| !matches!(status(*i), JobStatus::Succeeded | JobStatus::Cancelled))
        .map(|(_, id)| *id)
        .collect();
    let mut finished: Vec<i64> = ids
        .iter()
        .copied()
        .filter(|id| !open.contains(id))
        .collect();
    open.reverse();
    finished.reverse();
    let expected: Vec<(bool, i64)> = open
        .iter()
        .map(|id| (false, *id))
        .chain(finished.iter().map(|id| (true, *id)))
        .collect();
    for limit in [1, 7, 40, 500] {
        assert_eq!(queue_pages(&t, limit), expected, "pages of {limit}");
    }
    let s = t.summary().unwrap();
    assert_eq!(s.total, 120);
    assert_eq!(s.succeeded, 60);
    assert_eq!(s.cancelled, 20);
    assert_eq!(s.failed, 20);
    assert_eq!(s.paused, 10);
    assert_eq!(s.queued, 10);
    assert_eq!(s.open(), 40);
    assert_eq!(t.page(0, None).unwrap(), (vec![], None));
}

#[test]
fn a_queue_cursor_misses_nothing_while_jobs_arrive_and_finish() {
    let (_dir, db) = open();
    let t = jobs_table(&db);
    let ids = add_jobs(&t, 50);
    for id in &ids[..25] {
        t.set_status(*id, JobStatus::Succeeded).unwrap();
    }
    let (first, next) = t.page(10, None).unwrap();
    assert_eq!(first.len(), 10);
    // Meanwhile: new jobs arrive (above the cursor: they belong to a fresh first page), a
    // job not loaded yet finishes (it moves to the finished section, still ahead).
    let added = add_jobs(&t, 5);
    let moved = ids[30];
    t.set_status(moved, JobStatus::Succeeded).unwrap();
    let mut seen: HashSet<i64> = first.iter().map(|j| j.id).collect();
    let mut cursor = next;
    while let Some(c) = cursor {
        let (jobs, next) = t.page(10, Some(c)).unwrap();
        for j in &jobs {
            assert!(seen.insert(j.id), "job {} came twice", j.id);
        }
        cursor = next;
    }
    let all: HashSet<i64> = ids.iter().copied().collect();
    assert_eq!(&seen, &all, "every job there when paging began, once");
    assert!(added.iter().all(|id| !seen.contains(id)));
    assert_eq!(t.page(100, None).unwrap().0.len(), 55);
}

/// The shapes the screens ask for walk an index (or the rowid), never sort the table.
/// (The queue's pages name their partial index: `journal.rs` runs these statements.)
#[test]
fn page_queries_use_the_indexes() {
    let (_dir, db) = open();
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
    let cases = [
        ("SELECT id FROM library WHERE account = 'a' ORDER BY id DESC LIMIT 10", "library_account"),
        ("SELECT id FROM library WHERE status = 'ready' ORDER BY id DESC LIMIT 10", "library_status"),
        (
            "SELECT id FROM library WHERE account = 'a' AND status = 'ready' AND id < 5 ORDER BY id DESC LIMIT 10",
            "library_account_status",
        ),
        (
            "SELECT id FROM jobs INDEXED BY jobs_open WHERE status NOT IN ('succeeded', 'cancelled') AND id < 9 ORDER BY id DESC LIMIT 10",
            "jobs_open",
        ),
        (
            "SELECT id FROM jobs INDEXED BY jobs_finished WHERE status IN ('succeeded', 'cancelled') AND id < 9 ORDER BY id DESC LIMIT 10",
            "jobs_finished",
        ),
    ];
    for (sql, index) in cases {
        let p = plan(sql);
        assert!(p.contains(index), "{sql}: {p}");
        assert!(!p.contains("TEMP B-TREE"), "{sql} sorts: {p}");
    }
    // A search's total is counted over the covering index, whatever else filters.
    let p = plan(
        "SELECT count(*) FROM library INDEXED BY library_search WHERE account = 'a' AND name LIKE '%x%'",
    );
    assert!(p.contains("COVERING INDEX library_search"), "{p}");
    // No filter: the rowid itself, newest first.
    let p = plan("SELECT id FROM library WHERE id < 5 ORDER BY id DESC LIMIT 10");
    assert!(!p.contains("TEMP B-TREE"), "{p}");
}
