//! Where secrets may go: an API key in a custom header never follows a redirect to
//! another origin, and accounts talk to their APIs over https unless the host is this
//! machine (loopback), checked when the account is added and again when it is used.

use std::sync::Arc;

use ferry_core::config::Home;
use ferry_core::secrets::{MemoryStore, Secret, SecretStore};
use ferry_core::{Code, Engine, Kind, SecretInput};
use ferry_fakes::{Fakes, Options, OriginOpts};

use crate::support::{png, TestEngine};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_synposter_key_never_follows_a_redirect_to_another_host() {
    let f = Fakes::start(Options::default()).await;
    // A second loopback port is another origin.
    let elsewhere = ferry_fakes::origin::start().await;
    for (path, status) in [("/v1/media", 307), ("/v1/usage", 302)] {
        f.origin.serve_with(
            path,
            vec![],
            OriginOpts {
                redirect_to: Some(elsewhere.url(path)),
                redirect_status: status,
                ..OriginOpts::default()
            },
        );
    }
    let t = TestEngine::with_account(
        Kind::Synposter,
        &[("api_url", f.origin.url("/v1"))],
        Some(ferry_fakes::SYNPOSTER_KEY),
    );
    let path = t.file("a.png", &png(2000));
    let e = t.upload(&path).await.unwrap_err();
    assert!(
        !e.message.contains(ferry_fakes::SYNPOSTER_KEY),
        "{}",
        e.message
    );
    let _ = t.engine.account_test("dest").await;
    assert!(
        f.origin.requests().iter().any(|r| r.path == "/v1/media"),
        "the API host was asked"
    );
    for r in elsewhere.requests() {
        assert!(
            r.header("x-api-key").is_none(),
            "the key reached another host: {} {}",
            r.method,
            r.path
        );
    }
}

#[test]
fn account_urls_must_be_https_unless_the_host_is_loopback() {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn SecretStore> = Arc::new(MemoryStore::default());
    let engine = Engine::with_secret_store(Home::at(dir.path()), store).unwrap();
    let add = |name: &str, kind: Kind, opts: &[(&str, &str)]| {
        let opts: Vec<(String, String)> = opts
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        engine.account_add(
            name,
            kind,
            &opts,
            SecretInput::Value(Secret::new("sk_live_x")),
        )
    };
    for (i, (kind, opts)) in [
        (
            Kind::Synposter,
            vec![("api_url", "http://api.example.com/v1")],
        ),
        (
            Kind::Postsyncer,
            vec![
                ("workspace_id", "7"),
                ("upload_url", "http://upload.example.com/api/v1"),
            ],
        ),
        (
            Kind::S3,
            vec![
                ("bucket", "b"),
                ("access_key_id", "k"),
                ("endpoint", "http://s3.example.com"),
            ],
        ),
        (
            Kind::Fastpix,
            vec![("token_id", "t"), ("api_url", "ftp://x.test/v1")],
        ),
        (
            Kind::Socialsyncer,
            vec![("api_url", "http://127.0.0.1.example.com")],
        ),
    ]
    .into_iter()
    .enumerate()
    {
        let e = add(&format!("bad{i}"), kind, &opts).unwrap_err();
        assert_eq!(e.code, Code::ConfigInvalid, "{kind}: {}", e.message);
        assert!(
            e.message.contains("https"),
            "says what to do: {}",
            e.message
        );
    }
    for (i, url) in [
        "https://api.example.com/v1",
        "http://127.0.0.1:8080/v1",
        "http://127.9.9.9/v1",
        "http://localhost:3000/v1",
        "http://[::1]:3000/v1",
    ]
    .into_iter()
    .enumerate()
    {
        add(&format!("ok{i}"), Kind::Synposter, &[("api_url", url)])
            .unwrap_or_else(|e| panic!("{url}: {}", e.message));
    }
}

#[test]
fn a_hand_edited_config_with_a_plain_http_api_url_is_refused_when_the_account_is_used() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("config.toml"),
        "[accounts.edited]\nkind = \"synposter\"\nsecret_env = \"PATH\"\n\
         [accounts.edited.options]\napi_url = \"http://api.example.com/v1\"\n",
    )
    .unwrap();
    let store: Arc<dyn SecretStore> = Arc::new(MemoryStore::default());
    let engine = Engine::with_secret_store(Home::at(dir.path()), store).unwrap();
    let e = engine.provider("edited").err().expect("refused");
    assert_eq!(e.code, Code::ConfigInvalid, "{}", e.message);
    assert!(
        e.message.contains("api_url") && e.message.contains("https"),
        "{}",
        e.message
    );
}

/// The providers whose secret is an `Authorization` header rely on reqwest dropping it
/// on a redirect to another origin: hold it to that.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bearer_and_basic_credentials_never_follow_a_redirect_to_another_host() {
    let f = Fakes::start(Options::default()).await;
    let elsewhere = ferry_fakes::origin::start().await;
    let redirect = |path: &str| {
        f.origin.serve_with(
            path,
            vec![],
            OriginOpts {
                redirect_to: Some(elsewhere.url(path)),
                redirect_status: 307,
                ..OriginOpts::default()
            },
        )
    };
    for p in [
        "/ss/v1/media/presign",
        "/ss/v1/accounts",
        "/ps/api/v1/media",
        "/ps/api/v1/workspaces",
        "/up/api/v1/media/upload/file",
        "/fp/v1/on-demand/upload",
        "/fp/v1/on-demand",
    ] {
        redirect(p);
    }
    let accounts = [
        (
            Kind::Socialsyncer,
            vec![("api_url", f.origin.url("/ss/v1"))],
            ferry_fakes::SOCIALSYNCER_KEY,
            "a.png",
        ),
        (
            Kind::Postsyncer,
            vec![
                ("api_url", f.origin.url("/ps/api/v1")),
                ("upload_url", f.origin.url("/up/api/v1")),
                ("workspace_id", "7".to_string()),
            ],
            ferry_fakes::POSTSYNCER_TOKEN,
            "a.png",
        ),
        (
            Kind::Fastpix,
            vec![
                ("api_url", f.origin.url("/fp/v1")),
                ("token_id", ferry_fakes::FASTPIX_TOKEN_ID.to_string()),
            ],
            ferry_fakes::FASTPIX_SECRET,
            "a.mp4",
        ),
    ];
    for (kind, opts, secret, name) in accounts {
        let t = TestEngine::with_account(kind, &opts, Some(secret));
        let bytes = if name.ends_with(".mp4") {
            crate::support::mp4(2000)
        } else {
            png(2000)
        };
        let path = t.file(name, &bytes);
        let _ = t.upload(&path).await;
        let _ = t.engine.account_test("dest").await;
    }
    assert!(
        !elsewhere.requests().is_empty(),
        "the redirects were followed"
    );
    for r in elsewhere.requests() {
        assert!(
            r.header("authorization").is_none(),
            "a credential reached another host: {} {}",
            r.method,
            r.path
        );
    }
}
