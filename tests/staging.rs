//! Pasted images in staging: kept until a week after they were uploaded, never deleted
//! while an upload of them failed or is still to run.

use std::path::Path;
use std::time::{Duration, SystemTime};

use ferry_app::staging::{prune, save_png, KEEP_AFTER_UPLOAD};
use ferry_core::queue::SourceKind;
use ferry_core::{Job, JobStatus};

fn job(input: &Path, status: JobStatus) -> Job {
    let now = chrono::Utc::now();
    Job {
        id: 1,
        account: "library".into(),
        source_kind: SourceKind::Path,
        input: input.to_string_lossy().into_owned(),
        name: "pasted.png".into(),
        origin: "paste".into(),
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
fn uploaded_images_go_a_week_later_and_the_others_stay() {
    let dir = tempfile::tempdir().unwrap();
    let pixel = [255u8, 0, 0, 255];
    let sent = save_png(dir.path(), &pixel, 1, 1).unwrap();
    let failed = save_png(dir.path(), &pixel, 1, 1).unwrap();
    let unqueued = save_png(dir.path(), &pixel, 1, 1).unwrap();
    let resent = save_png(dir.path(), &pixel, 1, 1).unwrap();
    assert_ne!(sent, failed, "two pastes in one second keep both");
    let jobs = [
        job(&sent, JobStatus::Succeeded),
        job(&failed, JobStatus::Failed),
        // Sent once, then queued again and still waiting: kept.
        job(&resent, JobStatus::Succeeded),
        job(&resent, JobStatus::Queued),
    ];
    let now = SystemTime::now();
    // Too recent: nothing goes.
    assert!(prune(dir.path(), &jobs, now, KEEP_AFTER_UPLOAD).is_empty());
    // A week on, only the uploaded one goes.
    let later = now + KEEP_AFTER_UPLOAD + Duration::from_secs(60);
    let gone = prune(dir.path(), &jobs, later, KEEP_AFTER_UPLOAD);
    assert_eq!(gone, [sent.file_name().unwrap().to_string_lossy()]);
    assert!(!sent.exists());
    for kept in [&failed, &unqueued, &resent] {
        assert!(kept.exists(), "{} was deleted", kept.display());
    }
}
