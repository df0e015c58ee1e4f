//! The conformance suite every provider runs against its fake over real sockets:
//! happy path with bytes verified server-side; zero-byte and non-ASCII names; wrong type
//! and oversize refused before sending; 401; 429 + Retry-After; 500 then success;
//! connection reset mid-body then success; expired upload URL re-requested; cancel.

use std::time::{Duration, Instant};

use ferry_core::{Code, Kind, RemoteMedia};
use ferry_fakes::{Fake, Fakes, Fault, FaultKind, Options};

use crate::support::{files_under, mp4, png, TestEngine};

/// One provider as the suite sees it.
struct Case {
    kind: Kind,
    fake: Option<Fake>,
    options: Vec<(&'static str, String)>,
    secret: Option<&'static str>,
    bad_secret: &'static str,
    /// Path part of the call that starts an upload (presign / create / the upload).
    create_path: &'static str,
    /// Path part of the request that carries the bytes.
    body_path: &'static str,
    /// Clock advance that expires an upload URL (presigned flows only).
    expiry: Option<Duration>,
    video_only: bool,
    typed: bool,
    /// A size over the destination's limit, if it has one.
    oversize: Option<u64>,
    _fakes: Option<Fakes>,
}

impl Case {
    fn engine(&self) -> TestEngine {
        TestEngine::with_account(self.kind, &self.options, self.secret)
    }

    fn sample(&self, len: usize) -> (Vec<u8>, &'static str) {
        if self.video_only {
            (mp4(len), "clip.mp4")
        } else {
            (png(len), "photo.png")
        }
    }

    fn requests_to(&self, part: &str) -> usize {
        self.fake
            .as_ref()
            .map(|f| {
                f.requests()
                    .iter()
                    .filter(|r| r.path.contains(part))
                    .count()
            })
            .unwrap_or(0)
    }

    /// Calls that start an upload (POST to the create path; not e.g. a cancel).
    fn creates(&self) -> usize {
        self.fake
            .as_ref()
            .map(|f| {
                f.requests()
                    .iter()
                    .filter(|r| r.method == "POST" && r.path.contains(self.create_path))
                    .count()
            })
            .unwrap_or(0)
    }

    fn total_requests(&self) -> usize {
        self.fake.as_ref().map(|f| f.requests().len()).unwrap_or(0)
    }

    /// The bytes the destination now holds for this item.
    fn stored(&self, t: &TestEngine, media: &RemoteMedia) -> Vec<u8> {
        match &self.fake {
            None => {
                let url = url::Url::parse(media.url.as_ref().unwrap()).unwrap();
                std::fs::read(url.to_file_path().unwrap()).unwrap()
            }
            Some(f) => {
                let _ = t;
                let objs = f.objects();
                assert_eq!(
                    objs.len(),
                    1,
                    "exactly one object stored: {:?}",
                    objs.iter().map(|o| &o.key).collect::<Vec<_>>()
                );
                objs[0].bytes.clone()
            }
        }
    }

    fn stored_count(&self, t: &TestEngine) -> usize {
        match &self.fake {
            None => files_under(&t.dir.path().join("home/library")).len(),
            Some(f) => f.objects().len(),
        }
    }
}

async fn case(kind: Kind) -> Case {
    let small = Options {
        synposter_max_bytes: 50_000_000,
        ..Options::default()
    };
    let fakes = if kind == Kind::Local {
        None
    } else {
        Some(Fakes::start(small).await)
    };
    let f = fakes.as_ref();
    match kind {
        Kind::Local => Case {
            kind,
            fake: None,
            options: vec![],
            secret: None,
            bad_secret: "",
            create_path: "",
            body_path: "",
            expiry: None,
            video_only: false,
            typed: false,
            oversize: None,
            _fakes: None,
        },
        Kind::Synposter => Case {
            kind,
            fake: Some(f.unwrap().synposter.clone()),
            options: vec![("api_url", f.unwrap().synposter.api_url())],
            secret: Some(ferry_fakes::SYNPOSTER_KEY),
            bad_secret: "sk_live_00000000000000000000000000000000",
            create_path: "/v1/media",
            body_path: "/storage/v1/object/upload/sign",
            expiry: Some(Duration::from_secs(3 * 3600)),
            video_only: false,
            typed: true,
            oversize: Some(50_000_001),
            _fakes: fakes,
        },
        Kind::Socialsyncer => Case {
            kind,
            fake: Some(f.unwrap().socialsyncer.clone()),
            options: vec![("api_url", f.unwrap().socialsyncer.api_url())],
            secret: Some(ferry_fakes::SOCIALSYNCER_KEY),
            bad_secret: "sk_wrong",
            create_path: "/v1/media/presign",
            body_path: "/s3/",
            expiry: Some(Duration::from_secs(2 * 3600)),
            video_only: false,
            typed: true,
            oversize: Some(5_000_000_001),
            _fakes: fakes,
        },
        Kind::Postsyncer => Case {
            kind,
            fake: Some(f.unwrap().postsyncer.clone()),
            options: vec![
                ("api_url", f.unwrap().postsyncer.api_url()),
                ("upload_url", f.unwrap().postsyncer.upload_url().unwrap()),
                (
                    "workspace_id",
                    ferry_fakes::POSTSYNCER_WORKSPACE_ID.to_string(),
                ),
            ],
            secret: Some(ferry_fakes::POSTSYNCER_TOKEN),
            bad_secret: "1|nope",
            create_path: "/media/upload/file",
            body_path: "/media/upload/file",
            expiry: None,
            video_only: false,
            typed: true,
            oversize: Some(500_000_001),
            _fakes: fakes,
        },
        Kind::Fastpix => Case {
            kind,
            fake: Some(f.unwrap().fastpix.clone()),
            options: vec![
                ("api_url", f.unwrap().fastpix.api_url()),
                ("token_id", ferry_fakes::FASTPIX_TOKEN_ID.to_string()),
            ],
            secret: Some(ferry_fakes::FASTPIX_SECRET),
            bad_secret: "wrong-secret",
            create_path: "/on-demand/upload",
            body_path: crate::FASTPIX_SESSION_PATH,
            expiry: Some(Duration::from_secs(5 * 3600)),
            video_only: true,
            typed: true,
            oversize: None,
            _fakes: fakes,
        },
        Kind::S3 => unreachable!("S3 runs against s3s-fs in s3.rs"),
    }
}

async fn happy_path(kind: Kind) {
    let c = case(kind).await;
    let t = c.engine();
    let (bytes, name) = c.sample(300_000);
    let path = t.file(name, &bytes);
    let media = t.upload(&path).await.unwrap();
    assert_eq!(media.len(), 1);
    assert_eq!(media[0].name, name);
    assert_eq!(
        c.stored(&t, &media[0]),
        bytes,
        "server holds exactly the file's bytes"
    );
    let lib = t.library();
    assert_eq!(lib.len(), 1);
    assert_eq!(lib[0].remote_id, media[0].id);
}

async fn zero_byte_file(kind: Kind) {
    let c = case(kind).await;
    let t = c.engine();
    let path = t.file("empty.png", b"");
    let r = t.upload(&path).await;
    if c.typed {
        let e = r.unwrap_err();
        assert_eq!(e.code, Code::InputEmpty);
        assert!(e.message.contains("empty"), "{}", e.message);
        assert_eq!(c.total_requests(), 0, "nothing was sent");
    } else {
        let media = r.unwrap();
        assert_eq!(c.stored(&t, &media[0]), Vec::<u8>::new());
    }
}

async fn non_ascii_name(kind: Kind) {
    let c = case(kind).await;
    let t = c.engine();
    let (bytes, sample) = c.sample(10_000);
    let ext = sample.rsplit('.').next().unwrap();
    let name = format!("Café été 日本 ✓.{ext}");
    let path = t.file(&name, &bytes);
    let media = t.upload(&path).await.unwrap();
    assert_eq!(media[0].name, name, "the library keeps the original name");
    assert_eq!(c.stored(&t, &media[0]), bytes);
}

async fn wrong_type_refused_before_sending(kind: Kind) {
    let c = case(kind).await;
    let t = c.engine();
    // The name says PNG; the bytes say text. Bytes win.
    let path = t.file("notes.png", b"just some text, not an image at all\n");
    let e = t.upload(&path).await.unwrap_err();
    assert_eq!(e.code, Code::InputUnsupportedType);
    assert!(e.message.contains("notes.png"), "{}", e.message);
    assert_eq!(c.total_requests(), 0, "no request reached the server");
}

async fn oversize_refused_before_sending(kind: Kind) {
    let c = case(kind).await;
    let t = c.engine();
    let size = c.oversize.unwrap();
    let path = if c.video_only {
        unreachable!()
    } else {
        t.sparse_png("huge.png", size)
    };
    let e = t.upload(&path).await.unwrap_err();
    assert_eq!(e.code, Code::LimitTooLarge);
    assert!(
        e.message.contains("MB") || e.message.contains("GB"),
        "names the limit: {}",
        e.message
    );
    assert_eq!(c.total_requests(), 0, "no request reached the server");
}

async fn bad_key_is_auth_invalid(kind: Kind) {
    let c = case(kind).await;
    let t = TestEngine::with_account(c.kind, &c.options, Some(c.bad_secret));
    let (bytes, name) = c.sample(1000);
    let path = t.file(name, &bytes);
    let e = t.upload(&path).await.unwrap_err();
    assert_eq!(e.code, Code::AuthInvalid, "{}", e.message);
    assert!(e.message.contains("401"), "{}", e.message);
    assert!(!e.message.contains(c.bad_secret), "the key is not echoed");
    assert_eq!(c.creates(), 1, "401 is not retried");
    assert_eq!(c.fake.as_ref().unwrap().objects().len(), 0);
}

async fn rate_limit_waits_for_retry_after(kind: Kind) {
    let c = case(kind).await;
    let t = c.engine();
    c.fake.as_ref().unwrap().push_fault(
        Fault::new(
            c.create_path,
            FaultKind::RateLimited {
                retry_after_secs: 1,
            },
        )
        .method("POST"),
    );
    let (bytes, name) = c.sample(5000);
    let path = t.file(name, &bytes);
    let start = Instant::now();
    let media = t.upload(&path).await.unwrap();
    assert!(
        start.elapsed() >= Duration::from_millis(950),
        "waited as told: {:?}",
        start.elapsed()
    );
    assert_eq!(c.creates(), 2);
    assert_eq!(c.stored(&t, &media[0]), bytes);
}

async fn server_error_then_success(kind: Kind) {
    let c = case(kind).await;
    let t = c.engine();
    c.fake
        .as_ref()
        .unwrap()
        .push_fault(Fault::new(c.create_path, FaultKind::Status(500)).method("POST"));
    let (bytes, name) = c.sample(5000);
    let path = t.file(name, &bytes);
    let media = t.upload(&path).await.unwrap();
    assert_eq!(c.creates(), 2);
    assert_eq!(c.stored(&t, &media[0]), bytes);
}

async fn reset_mid_body_then_success(kind: Kind) {
    let c = case(kind).await;
    let t = c.engine();
    c.fake
        .as_ref()
        .unwrap()
        .push_fault(Fault::new(c.body_path, FaultKind::ResetMidBody));
    let (bytes, name) = c.sample(2_000_000);
    let path = t.file(name, &bytes);
    let media = t.upload(&path).await.unwrap();
    assert!(c.requests_to(c.body_path) >= 2, "the body was sent again");
    assert_eq!(c.stored(&t, &media[0]), bytes, "complete bytes, no mix");
}

async fn expired_upload_url_is_requested_again(kind: Kind) {
    let c = case(kind).await;
    let t = c.engine();
    let fake = c.fake.clone().unwrap();
    // Hold the first PUT long enough to move the fake's clock past the URL's expiry.
    fake.push_fault(
        Fault::new(c.body_path, FaultKind::Delay(Duration::from_millis(1500))).method("PUT"),
    );
    let (bytes, name) = c.sample(5000);
    let path = t.file(name, &bytes);
    let expiry = c.expiry.unwrap();
    let advance = tokio::spawn({
        let fake = fake.clone();
        async move {
            tokio::time::sleep(Duration::from_millis(500)).await;
            fake.advance_clock(expiry);
        }
    });
    let media = t.upload(&path).await.unwrap();
    advance.await.unwrap();
    assert_eq!(c.creates(), 2, "a fresh upload URL was requested once");
    assert_eq!(c.stored(&t, &media[0]), bytes);
}

async fn cancel_stops_promptly_and_leaves_nothing(kind: Kind) {
    let c = case(kind).await;
    let t = c.engine();
    let (bytes, name) = c.sample(3_000_000);
    let path = match &c.fake {
        Some(f) => {
            f.push_fault(Fault::new(
                c.body_path,
                FaultKind::Delay(Duration::from_secs(20)),
            ));
            t.file(name, &bytes)
        }
        // The local copy is fast: make it big enough to still be running when cancelled.
        None => t.sparse_png("big.png", 2 << 30),
    };
    let id = t
        .engine
        .enqueue_paths(&[path], "dest", "test", false)
        .unwrap()[0];
    let engine = t.engine.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        engine.cancel(ferry_core::Selector::One(id)).await.unwrap();
    });
    let r = tokio::time::timeout(Duration::from_secs(10), t.run(id))
        .await
        .expect("cancel is prompt");
    assert_eq!(r.unwrap_err().code, Code::Cancelled);
    // Give a server that was mid-request a moment; it must not keep a partial object.
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(c.stored_count(&t), 0, "no remote object after cancel");
    assert!(t.library().is_empty());
}

macro_rules! suite {
    ($modname:ident, $kind:expr, [$($check:ident),* $(,)?]) => {
        mod $modname {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $check() {
                    super::$check({ use ferry_core::Kind; $kind }).await
                }
            )*
        }
    };
}

suite!(
    local,
    Kind::Local,
    [
        happy_path,
        zero_byte_file,
        non_ascii_name,
        cancel_stops_promptly_and_leaves_nothing
    ]
);
suite!(
    synposter,
    Kind::Synposter,
    [
        happy_path,
        zero_byte_file,
        non_ascii_name,
        wrong_type_refused_before_sending,
        oversize_refused_before_sending,
        bad_key_is_auth_invalid,
        rate_limit_waits_for_retry_after,
        server_error_then_success,
        reset_mid_body_then_success,
        expired_upload_url_is_requested_again,
        cancel_stops_promptly_and_leaves_nothing,
    ]
);
suite!(
    socialsyncer,
    Kind::Socialsyncer,
    [
        happy_path,
        zero_byte_file,
        non_ascii_name,
        wrong_type_refused_before_sending,
        oversize_refused_before_sending,
        bad_key_is_auth_invalid,
        rate_limit_waits_for_retry_after,
        server_error_then_success,
        reset_mid_body_then_success,
        expired_upload_url_is_requested_again,
        cancel_stops_promptly_and_leaves_nothing,
    ]
);
suite!(
    postsyncer,
    Kind::Postsyncer,
    [
        happy_path,
        zero_byte_file,
        non_ascii_name,
        wrong_type_refused_before_sending,
        oversize_refused_before_sending,
        bad_key_is_auth_invalid,
        rate_limit_waits_for_retry_after,
        server_error_then_success,
        reset_mid_body_then_success,
        cancel_stops_promptly_and_leaves_nothing,
    ]
);
suite!(
    fastpix,
    Kind::Fastpix,
    [
        happy_path,
        zero_byte_file,
        non_ascii_name,
        wrong_type_refused_before_sending,
        bad_key_is_auth_invalid,
        rate_limit_waits_for_retry_after,
        server_error_then_success,
        reset_mid_body_then_success,
        expired_upload_url_is_requested_again,
        cancel_stops_promptly_and_leaves_nothing,
    ]
);
