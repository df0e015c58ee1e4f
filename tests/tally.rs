//! Batched notifications: one "23 uploaded, 1 failed" per finished batch.

use std::time::{Duration, Instant};

use ferry_app::background::{summary, Tally};
use ferry_core::queue::SourceKind;
use ferry_core::{Event, Job, JobStatus};

fn job(status: JobStatus) -> Job {
    let now = chrono::Utc::now();
    Job {
        id: 1,
        account: "library".into(),
        source_kind: SourceKind::Path,
        input: "/tmp/a.png".into(),
        name: "a.png".into(),
        origin: "drop".into(),
        status,
        force: false,
        attempts: 1,
        error: None,
        bytes_sent: 0,
        bytes_total: None,
        deduplicated: false,
        media: vec![],
        created_at: now,
        updated_at: now,
        retry_at: None,
        priority: 0,
        src_size: None,
        src_mtime_ns: None,
        content_hash: None,
        mime_type: None,
    }
}

#[test]
fn a_batch_is_announced_once_after_the_queue_goes_quiet() {
    let mut tally = Tally::default();
    let t0 = Instant::now();
    assert!(tally.is_empty());
    assert_eq!(tally.due(t0 + Duration::from_secs(60), false), None);
    for _ in 0..23 {
        tally.record(
            &Event::JobSucceeded {
                job: job(JobStatus::Succeeded),
            },
            t0,
        );
    }
    tally.record(
        &Event::JobFailed {
            job: job(JobStatus::Failed),
            code: "auth.invalid".into(),
            message: "no".into(),
            retryable: false,
        },
        t0,
    );
    tally.record(&Event::LibraryChanged, t0);
    assert_eq!(
        tally.due(t0 + Duration::from_millis(500), false),
        None,
        "not quiet yet"
    );
    assert_eq!(
        tally.due(t0 + Tally::QUIET, true),
        None,
        "jobs still running"
    );
    assert_eq!(
        tally.due(t0 + Tally::QUIET, false).as_deref(),
        Some("23 uploaded, 1 failed")
    );
    assert!(tally.is_empty());
    assert_eq!(
        tally.due(t0 + Tally::QUIET * 2, false),
        None,
        "announced once"
    );
}

#[test]
fn a_long_batch_still_reports_while_it_runs() {
    let mut tally = Tally::default();
    let t0 = Instant::now();
    tally.record(
        &Event::JobSucceeded {
            job: job(JobStatus::Succeeded),
        },
        t0,
    );
    tally.record(
        &Event::JobSucceeded {
            job: job(JobStatus::Succeeded),
        },
        t0 + Tally::LONGEST - Duration::from_secs(1),
    );
    assert_eq!(
        tally.due(t0 + Tally::LONGEST, true).as_deref(),
        Some("2 uploaded")
    );
}

#[test]
fn summaries_name_only_what_happened() {
    assert_eq!(summary(1, 0), "1 uploaded");
    assert_eq!(summary(0, 2), "2 failed");
    assert_eq!(summary(23, 1), "23 uploaded, 1 failed");
}
