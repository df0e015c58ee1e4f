//! URL imports of unknown length spill to FERRY_HOME's disk, bounded: a size cap and a
//! free-space floor (config.toml `[settings]`), each failing clearly with the partial
//! file removed.

use ferry_core::Code;
use ferry_fakes::{Fakes, Options, OriginOpts};

use crate::support::png;

/// A download of unknown length served by the origin, fetched with these spool limits.
async fn spill_with(
    limits: ferry_core::import::SpoolLimits,
) -> (ferry_core::Error, std::path::PathBuf) {
    let f = Fakes::start(Options::default()).await;
    f.origin.serve_with(
        "/dl/big",
        png(300_000),
        OriginOpts {
            content_length: false,
            ..OriginOpts::default()
        },
    );
    let dir = tempfile::tempdir().unwrap();
    let spool = dir.path().join("spool");
    let url = url::Url::parse(&f.origin.url("/dl/big")).unwrap();
    let http = ferry_core::transfer::http_client();
    let e = ferry_core::import::fetch_with(&http, &url, &spool, None, limits)
        .await
        .err()
        .expect("refused");
    let left = crate::support::files_under(&spool);
    assert!(left.is_empty(), "the partial spill is removed: {left:?}");
    (e, dir.keep())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_download_of_unknown_length_over_the_spool_cap_fails_clearly_and_leaves_no_file() {
    let (e, dir) = spill_with(ferry_core::import::SpoolLimits {
        max_bytes: 100_000,
        keep_free: 0,
    })
    .await;
    let _ = std::fs::remove_dir_all(dir);
    assert_eq!(e.code, Code::LimitTooLarge, "{}", e.message);
    assert!(
        e.message.contains("spool_max_bytes") && e.message.contains("config.toml"),
        "names the setting: {}",
        e.message
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_download_that_would_leave_too_little_free_disk_fails_clearly_and_leaves_no_file() {
    let (e, dir) = spill_with(ferry_core::import::SpoolLimits {
        max_bytes: u64::MAX,
        keep_free: u64::MAX / 2,
    })
    .await;
    let _ = std::fs::remove_dir_all(dir);
    assert_eq!(e.code, Code::DiskFull, "{}", e.message);
    assert!(
        e.message.contains("free") && e.message.contains("spool_keep_free_bytes"),
        "names the problem and the setting: {}",
        e.message
    );
}
