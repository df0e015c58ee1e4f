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

#[test]
fn a_batch_copies_a_qr_code_opens_links_and_runs_commands_as_each_destination_asks() {
    use ferry_app::background::{Batch, Link, Steps};
    use ferry_core::config::{AccountConfig, Config};
    let mut cfg = Config::default();
    let mut add = |name: &str, opts: &[(&str, &str)]| {
        cfg.accounts.insert(
            name.into(),
            AccountConfig {
                kind: ferry_core::Kind::Local,
                options: opts
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
                secret_env: None,
            },
        );
    };
    add("blog", &[("after_batch", "open,qr")]);
    add("s3", &[("after_command", "notify-send Uploaded")]);
    add("library", &[]);
    let link = |account: &str, url: &str| Link {
        account: account.into(),
        name: "a.png".into(),
        url: url.into(),
        mime: None,
    };
    let mut links = vec![
        link("blog", "https://b/1"),
        link("s3", "https://s/1"),
        link("library", "file:///l/1"),
    ];
    links.extend((2..=12).map(|i| link("blog", &format!("https://b/{i}"))));
    let batch = Batch {
        text: "14 uploaded".into(),
        links,
    };
    let steps = Steps::of(&cfg, &batch);
    let blog: Vec<String> = (1..=12).map(|i| format!("https://b/{i}")).collect();
    assert_eq!(
        steps.qr,
        Some((blog.clone(), 12)),
        "one code of blog's links"
    );
    assert_eq!(steps.open, blog[..10].to_vec(), "at most 10 links opened");
    assert_eq!(
        steps.commands,
        vec![(
            "s3".to_string(),
            "notify-send Uploaded".to_string(),
            vec!["https://s/1".to_string()]
        )]
    );
    // Nothing asked: nothing beyond the copy.
    let quiet = Steps::of(&Config::default(), &batch);
    assert!(quiet.qr.is_none() && quiet.open.is_empty() && quiet.commands.is_empty());
}
