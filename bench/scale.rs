//! bench/scale.rs — the `scale` example of ferry-core (`cargo build --release -p ferry-core
//! --example scale`), used by `bench/run scale`:
//!
//!   scale gen HOME FILES   make a FERRY_HOME with 100,000 library items, 10,000 finished
//!                          and 2,000 queued jobs (the queued ones send FILES/q-NNNN.jpg,
//!                          2,000 files of 16 KiB it writes, to the local library)
//!   scale query HOME       time the engine's library and queue pages on that home; JSON
//!
//! The home is made through ferry-core itself: `Engine` writes config.toml and its accounts
//! and opens the database (so every migration applies); the rows then go in through the
//! same connection in one transaction, with the schema's own column names, so a schema
//! change breaks this loudly rather than silently measuring something else. Names, sizes,
//! statuses and dates (spread over the past year, ids growing with time) come from a fixed
//! seed: every run makes the same home.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use chrono::{Duration, Utc};
use ferry_core::accounts::SecretInput;
use ferry_core::config::Home;
use ferry_core::library::{Filter, ItemStatus};
use ferry_core::secrets::MemoryStore;
use ferry_core::{Engine, Kind};

const ITEMS: usize = 100_000;
const FINISHED: usize = 10_000;
const QUEUED: usize = 2_000;
const FILE_BYTES: usize = 16 * 1024;

/// xorshift64*: deterministic, no dependency.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs[self.below(xs.len())]
    }
}

const WORDS: &[&str] = &[
    "harbour",
    "sunrise",
    "team",
    "offsite",
    "product",
    "launch",
    "invoice",
    "podcast",
    "interview",
    "wedding",
    "beach",
    "city",
    "night",
    "portrait",
    "concert",
    "studio",
    "garden",
    "winter",
    "summer",
    "autumn",
    "spring",
    "mountain",
    "river",
    "kitchen",
    "recipe",
    "workshop",
    "keynote",
    "poster",
    "banner",
    "teaser",
    "trailer",
    "behind-the-scenes",
    "unboxing",
    "review",
    "tutorial",
    "screenshot",
    "diagram",
    "logo",
    "headshot",
    "family",
];
const EXTS: &[(&str, &str)] = &[
    ("jpg", "image/jpeg"),
    ("jpg", "image/jpeg"),
    ("png", "image/png"),
    ("png", "image/png"),
    ("heic", "image/heic"),
    ("mp4", "video/mp4"),
    ("mov", "video/quicktime"),
    ("mp3", "audio/mpeg"),
];

/// (name, kind) of the accounts; `library` exists in every home.
const ACCOUNTS: &[(&str, Kind)] = &[
    ("library", Kind::Local),
    ("archive", Kind::Local),
    ("client-photos", Kind::Local),
    ("bucket", Kind::S3),
];

fn engine(home: &Path) -> Engine {
    Engine::with_secret_store(Home::at(home), Arc::new(MemoryStore::default()))
        .unwrap_or_else(|e| panic!("open {}: {e}", home.display()))
}

fn gen(home: &Path, files: &Path) {
    let t0 = Instant::now();
    std::fs::create_dir_all(home).unwrap();
    std::fs::create_dir_all(files).unwrap();
    let engine = engine(home);
    for (name, kind) in ACCOUNTS.iter().skip(1) {
        let opts: Vec<(String, String)> = match kind {
            Kind::Local => vec![("dir".into(), home.join(name).display().to_string())],
            // A closed loopback port: nothing here is ever fetched from the network.
            _ => [
                ("bucket", "media"),
                ("region", "us-east-1"),
                ("endpoint", "http://127.0.0.1:9"),
                ("path_style", "true"),
                ("access_key_id", "FERRYBENCHSCALE"),
            ]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        };
        let secret = match kind {
            Kind::Local => SecretInput::None,
            _ => SecretInput::Env("FERRY_BENCH_SCALE_SECRET".into()),
        };
        engine
            .account_add(name, *kind, &opts, secret)
            .unwrap_or_else(|e| panic!("account {name}: {e}"));
    }
    drop(engine);
    let db = ferry_core::db::Db::open(&home.join("ferry.db")).unwrap();

    // The files the queued jobs send: JPEG magic, then bytes of their own.
    let mut rng = Rng(0x5eed_f377);
    let queued_files: Vec<PathBuf> = (0..QUEUED)
        .map(|i| {
            let p = files.join(format!("q-{i:04}.jpg"));
            if std::fs::metadata(&p).map(|m| m.len() as usize).ok() != Some(FILE_BYTES) {
                let mut b = vec![0xff, 0xd8, 0xff, 0xe0];
                while b.len() < FILE_BYTES {
                    b.extend_from_slice(&rng.next().to_le_bytes());
                }
                b.truncate(FILE_BYTES);
                std::fs::write(&p, b).unwrap();
            }
            p
        })
        .collect();

    let now = Utc::now();
    let year = Duration::days(365);
    let mut conn = db.conn();
    let tx = conn.transaction().unwrap();
    {
        let mut item = tx
            .prepare(
                "INSERT INTO library (account, provider, remote_id, name, mime_type, size, content_hash,
                                      url, status, created_at, expires_at, job_id, source)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
            )
            .unwrap();
        let mut job = tx
            .prepare(
                "INSERT INTO jobs (account, source_kind, input, name, origin, status, attempts, error_code,
                                   error_message, bytes_sent, bytes_total, src_size, content_hash, mime_type,
                                   result, created_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)",
            )
            .unwrap();
        // The finished jobs are the last FINISHED uploads of the year; each made one item.
        let first_job_item = ITEMS - FINISHED;
        let mut job_id = 0i64;
        for i in 0..ITEMS {
            let (account, kind) = ACCOUNTS[match rng.below(10) {
                0..=4 => 0,
                5 | 6 => 1,
                7 => 2,
                _ => 3,
            }];
            let (ext, mime) = EXTS[rng.below(EXTS.len())];
            let name = format!(
                "{}-{}-{:04}.{ext}",
                rng.pick(WORDS),
                rng.pick(WORDS),
                rng.below(10_000)
            );
            let size = match mime.split('/').next() {
                Some("video") => 5_000_000 + rng.below(800_000_000),
                Some("audio") => 1_000_000 + rng.below(60_000_000),
                _ => 40_000 + rng.below(12_000_000),
            } as i64;
            // Ids grow with time: item i was sent at i/ITEMS of the year, give or take.
            let at = now - year
                + year * i as i32 / ITEMS as i32
                + Duration::seconds(rng.below(60) as i64);
            let created = at.to_rfc3339();
            let hash = format!(
                "{:016x}{:016x}{:016x}{:016x}",
                rng.next(),
                rng.next(),
                rng.next(),
                i
            );
            let remote_id = format!("{}/{i:06}-{name}", at.format("%Y/%m"));
            let url = match kind {
                Kind::Local => format!("file://{}/{account}/{remote_id}", home.display()),
                _ => format!("http://127.0.0.1:9/media/{remote_id}"),
            };
            let status = match rng.below(100) {
                0..=2 => ItemStatus::Failed,
                3..=5 => ItemStatus::Deleted,
                6..=9 if kind == Kind::S3 => ItemStatus::Expired,
                _ => ItemStatus::Ready,
            };
            let expires = (kind == Kind::S3).then(|| (at + Duration::days(7)).to_rfc3339());
            let source = format!("/home/ada/Pictures/{}/{name}", at.format("%Y-%m"));
            let linked = (i >= first_job_item).then(|| {
                job_id += 1;
                let (status, code, message) = match rng.below(100) {
                    0..=3 => (
                        "failed",
                        Some("provider.rate_limited"),
                        Some("the destination is limiting requests"),
                    ),
                    4 | 5 => ("cancelled", None, None),
                    _ => ("succeeded", None, None),
                };
                let media = serde_json::json!([{
                    "id": remote_id, "name": name, "url": url, "mime_type": mime, "size": size,
                    "status": "ready", "expires_at": expires,
                }]);
                job.execute(rusqlite::params![
                    account,
                    "path",
                    source,
                    name,
                    if rng.below(3) == 0 {
                        "drop"
                    } else {
                        "watch:w1"
                    },
                    status,
                    1 + (status == "failed") as i64 * 2,
                    code,
                    message,
                    if status == "succeeded" {
                        size
                    } else {
                        size / 3
                    },
                    size,
                    size,
                    hash,
                    mime,
                    (status == "succeeded").then(|| media.to_string()),
                    created,
                    (at + Duration::seconds(5)).to_rfc3339(),
                ])
                .unwrap();
                (status == "succeeded").then_some(job_id)
            });
            let linked = linked.flatten();
            item.execute(rusqlite::params![
                account,
                kind.as_str(),
                remote_id,
                name,
                mime,
                size,
                hash,
                url,
                status.as_str(),
                created,
                expires,
                linked,
                source,
            ])
            .unwrap();
        }
        // The 2,000 queued jobs: dropped a moment ago, to the local library.
        let queued_at = now.to_rfc3339();
        for (i, p) in queued_files.iter().enumerate() {
            let name = format!("q-{i:04}.jpg");
            job.execute(rusqlite::params![
                "library",
                "path",
                p.display().to_string(),
                name,
                "drop",
                "queued",
                0,
                None::<String>,
                None::<String>,
                0,
                None::<i64>,
                None::<i64>,
                None::<String>,
                None::<String>,
                None::<String>,
                queued_at,
                queued_at,
            ])
            .unwrap();
        }
    }
    tx.commit().unwrap();
    drop(conn);
    // Statistics are SQLite's to gather when Ferry decides to; the bench measures a home
    // as Ferry leaves it, so no ANALYZE here.
    db.conn()
        .execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")
        .unwrap();
    eprintln!(
        "scale: {} items, {FINISHED} finished and {QUEUED} queued jobs in {} ({:.1} s)",
        ITEMS,
        home.display(),
        t0.elapsed().as_secs_f64()
    );
}

/// Median and max of `runs` timings of `f`, in ms.
fn time<T>(runs: usize, mut f: impl FnMut() -> T) -> (f64, f64, T) {
    let mut ms = Vec::new();
    let mut last = None;
    for _ in 0..runs {
        let t = Instant::now();
        last = Some(f());
        ms.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    ms.sort_by(|a, b| a.partial_cmp(b).unwrap());
    (ms[ms.len() / 2], ms[ms.len() - 1], last.unwrap())
}

fn query(home: &Path) {
    let t = Instant::now();
    let engine = engine(home);
    let open_ms = t.elapsed().as_secs_f64() * 1000.0;
    const RUNS: usize = 9;
    let mut out = serde_json::Map::new();
    out.insert("engine_open_ms".into(), open_ms.into());
    let mut record = |key: &str, f: &Filter| {
        let (med, max, page) = time(RUNS, || engine.library_page(f).unwrap());
        out.insert(
            key.into(),
            serde_json::json!({ "median_ms": med, "max_ms": max, "items": page.items.len(), "total": page.total }),
        );
        page
    };
    let first = record("library_first_page", &Filter::default());
    assert_eq!(first.total as usize, ITEMS, "not the generated home");
    record(
        "search_common",
        &Filter {
            search: Some("sunrise".into()),
            ..Filter::default()
        },
    );
    record(
        "search_rare",
        &Filter {
            search: Some("keynote-logo-04".into()),
            ..Filter::default()
        },
    );
    record(
        "search_none",
        &Filter {
            search: Some("no such name".into()),
            ..Filter::default()
        },
    );
    record(
        "filter_account",
        &Filter {
            account: Some("client-photos".into()),
            ..Filter::default()
        },
    );
    record(
        "filter_status",
        &Filter {
            status: Some(ItemStatus::Failed),
            ..Filter::default()
        },
    );
    record(
        "filter_combined",
        &Filter {
            account: Some("archive".into()),
            status: Some(ItemStatus::Ready),
            search: Some("beach".into()),
            ..Filter::default()
        },
    );
    // Page 900 of 1,000: keyset, so as cheap as the first.
    let deep = engine
        .library(&Filter {
            limit: Some(90_000),
            ..Filter::default()
        })
        .unwrap()
        .last()
        .map(|i| i.id);
    record(
        "library_deep_page",
        &Filter {
            before: deep,
            ..Filter::default()
        },
    );
    let (med, max, page) = time(RUNS, || engine.jobs_page(200, None).unwrap());
    out.insert(
        "queue_first_page".into(),
        serde_json::json!({ "median_ms": med, "max_ms": max, "jobs": page.jobs.len(), "total": page.summary.total }),
    );
    let mut cursor = page.next;
    for _ in 0..30 {
        cursor = engine.jobs_page(200, cursor).unwrap().next;
    }
    let (med, max, page) = time(RUNS, || engine.jobs_page(200, cursor).unwrap());
    out.insert(
        "queue_deep_page".into(),
        serde_json::json!({ "median_ms": med, "max_ms": max, "jobs": page.jobs.len() }),
    );
    println!("{}", serde_json::Value::Object(out));
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    match args.iter().map(String::as_str).collect::<Vec<_>>()[1..] {
        ["gen", home, files] => gen(Path::new(home), Path::new(files)),
        ["query", home] => query(Path::new(home)),
        _ => {
            eprintln!("usage: scale gen HOME FILES | scale query HOME");
            std::process::exit(2);
        }
    }
}
