//! The `proxy` setting over real sockets: uploads, URL imports and S3 through the fake
//! HTTP and SOCKS5 proxies (ferry-fakes), each proxy's record of the targets it carried
//! as the proof, the password kept in the secret store only, a change taking effect
//! without a restart, and a wrong proxy named in the job's error.

use ferry_core::net::PasswordInput;
use ferry_core::secrets::Secret;
use ferry_core::{Code, Kind};
use ferry_fakes::forward_proxy::{ForwardProxy, ProxyAuth};
use ferry_fakes::{Fakes, Options};

use crate::support::{png, TestEngine};

/// `host:port` of a base URL (what a client asks a proxy for).
fn authority(url: &str) -> String {
    let u = url::Url::parse(url).unwrap();
    format!(
        "{}:{}",
        u.host_str().unwrap(),
        u.port_or_known_default().unwrap()
    )
}

fn synposter(f: &Fakes) -> TestEngine {
    TestEngine::with_account(
        Kind::Synposter,
        &[("api_url", f.synposter.api_url())],
        Some(ferry_fakes::SYNPOSTER_KEY),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upload_through_an_http_proxy_reaches_the_fake_and_the_proxy_carried_it() {
    let f = Fakes::start(Options::default()).await;
    let proxy = ForwardProxy::http(ProxyAuth::None).await;
    let t = synposter(&f);
    t.engine
        .proxy_set(
            &format!("http://{}", proxy.addr()),
            None,
            PasswordInput::Keep,
        )
        .unwrap();
    let bytes = png(300_000);
    let media = t.upload(&t.file("a.png", &bytes)).await.unwrap();
    assert_eq!(f.synposter.objects().len(), 1, "the upload landed");
    assert_eq!(f.synposter.objects()[0].bytes.len(), bytes.len());
    assert!(media[0].url.is_some());
    // The presign call and the storage PUT both went through the proxy.
    let api = authority(&f.synposter.api_url());
    assert!(
        proxy.targets().iter().filter(|t| **t == api).count() >= 2,
        "{:?}",
        proxy.targets()
    );
    assert!(
        proxy.up_bytes() >= bytes.len() as u64,
        "the body went through it"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_requests_are_tunnelled_through_http_connect() {
    // A plain-HTTP fake answers the TLS handshake with garbage: the request fails, but
    // only after the proxy was asked to CONNECT to it, which is what this checks.
    let f = Fakes::start(Options::default()).await;
    let proxy = ForwardProxy::http(ProxyAuth::None).await;
    let api = f.synposter.api_url().replace("http://", "https://");
    let t = TestEngine::with_account(
        Kind::Synposter,
        &[("api_url", api.clone())],
        Some(ferry_fakes::SYNPOSTER_KEY),
    );
    t.engine
        .proxy_set(
            &format!("http://{}", proxy.addr()),
            None,
            PasswordInput::Keep,
        )
        .unwrap();
    let _ = t.engine.account_test("dest").await.unwrap_err();
    assert!(
        proxy.targets().contains(&authority(&api)),
        "CONNECT {}: {:?}",
        authority(&api),
        proxy.targets()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn socks5_with_a_password_from_the_secret_store_carries_the_upload() {
    let f = Fakes::start(Options::default()).await;
    let proxy =
        ForwardProxy::socks5(ProxyAuth::UserPass("ferry".into(), "s0cks-pass".into())).await;
    let t = synposter(&f);
    let url = format!("socks5://{}", proxy.addr());
    // A wrong password first: refused by the proxy, named in the error, never shown.
    t.engine
        .proxy_set(
            &url,
            Some("ferry"),
            PasswordInput::Value(Secret::new("wrong-pass")),
        )
        .unwrap();
    let e = t.upload(&t.file("a.png", &png(5_000))).await.unwrap_err();
    assert!(e.code.as_str().starts_with("network."), "{e:?}");
    assert!(e.message.contains(&url), "names the proxy: {}", e.message);
    assert!(!e.message.contains("wrong-pass"), "{}", e.message);
    assert!(proxy.refused_auth() > 0);
    assert!(f.synposter.objects().is_empty());

    // The right one: the same engine uses it for the next job, no restart.
    let view = t
        .engine
        .proxy_set(
            &url,
            Some("ferry"),
            PasswordInput::Value(Secret::new("s0cks-pass")),
        )
        .unwrap();
    assert_eq!(view.password, "keychain");
    assert_eq!(view.user.as_deref(), Some("ferry"));
    let bytes = png(200_000);
    t.upload(&t.file("b.png", &bytes)).await.unwrap();
    assert_eq!(f.synposter.objects().len(), 1);
    assert!(proxy.targets().contains(&authority(&f.synposter.api_url())));
    assert!(proxy.up_bytes() >= bytes.len() as u64);

    // The password is nowhere in the home: config, database, logs.
    for file in crate::support::files_under(t.dir.path()) {
        let content = std::fs::read(&file).unwrap();
        for secret in ["s0cks-pass", "wrong-pass"] {
            assert!(
                !content
                    .windows(secret.len())
                    .any(|w| w == secret.as_bytes()),
                "{secret} in {}",
                file.display()
            );
        }
    }
    let config = std::fs::read_to_string(t.engine.home().config_file()).unwrap();
    assert!(config.contains(&format!("proxy = \"{url}\"")), "{config}");
    assert!(config.contains("proxy_user = \"ferry\""), "{config}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_url_import_fetches_through_the_proxy() {
    let f = Fakes::start(Options::default()).await;
    let proxy = ForwardProxy::socks5(ProxyAuth::None).await;
    let bytes = png(50_000);
    f.origin.serve("/cat.png", bytes.clone(), "image/png");
    let t = synposter(&f);
    t.engine
        .proxy_set(
            &format!("socks5://{}", proxy.addr()),
            None,
            PasswordInput::Keep,
        )
        .unwrap();
    t.import(&f.origin.url("/cat.png")).await.unwrap();
    assert!(
        proxy.targets().contains(&authority(&f.origin.base_url())),
        "{:?}",
        proxy.targets()
    );
    assert_eq!(f.synposter.objects()[0].bytes.len(), bytes.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_proxy_that_is_not_there_fails_the_job_naming_the_proxy_and_none_goes_direct() {
    let f = Fakes::start(Options::default()).await;
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let t = synposter(&f);
    let url = format!("http://127.0.0.1:{closed}");
    t.engine.proxy_set(&url, None, PasswordInput::Keep).unwrap();
    let path = t.file("a.png", &png(5_000));
    let e = t.upload(&path).await.unwrap_err();
    assert_eq!(e.code, Code::NetworkConnect, "{e:?}");
    assert!(e.message.contains(&url), "{}", e.message);
    assert!(
        e.message.contains("Settings"),
        "says where to fix it: {}",
        e.message
    );
    assert!(f.synposter.objects().is_empty());
    assert!(path.exists(), "the file is left alone");

    // `none`: direct, the same engine, at once.
    t.engine
        .proxy_set("none", None, PasswordInput::Keep)
        .unwrap();
    t.upload(&t.file("b.png", &png(5_000))).await.unwrap();
    assert_eq!(f.synposter.objects().len(), 1);
}

#[test]
fn proxy_settings_refuse_a_password_in_the_url_and_never_show_one() {
    let t = TestEngine::with_account(Kind::Local, &[("dir", "/tmp/x".into())], None);
    let e = t
        .engine
        .proxy_set(
            "socks5://me:hunter2@127.0.0.1:1080",
            None,
            PasswordInput::Keep,
        )
        .unwrap_err();
    assert_eq!(e.code, Code::ConfigInvalid);
    assert!(e.message.contains("keychain"), "{}", e.message);
    assert!(!e.message.contains("hunter2"), "{}", e.message);
    let e = t
        .engine
        .proxy_set(
            "http://127.0.0.1:3128",
            None,
            PasswordInput::Value(Secret::new("pw")),
        )
        .unwrap_err();
    assert!(e.message.contains("user"), "{}", e.message);
    let e = t
        .engine
        .proxy_set("system", Some("bob"), PasswordInput::Keep)
        .unwrap_err();
    assert!(e.message.contains("proxy URL"), "{}", e.message);
    assert_eq!(t.engine.proxy().proxy, "system", "nothing was changed");

    let v = t
        .engine
        .proxy_set(
            "http://127.0.0.1:3128",
            Some("bob"),
            PasswordInput::Env("FERRY_TEST_PROXY_PW".into()),
        )
        .unwrap();
    assert_eq!(v.password, "env:FERRY_TEST_PROXY_PW");
    let shown = serde_json::to_string(&t.engine.proxy()).unwrap();
    assert_eq!(
        shown,
        r#"{"proxy":"http://127.0.0.1:3128","user":"bob","password":"env:FERRY_TEST_PROXY_PW"}"#
    );
    let v = t
        .engine
        .proxy_set("system", None, PasswordInput::Clear)
        .unwrap();
    assert_eq!((v.proxy.as_str(), v.password.as_str()), ("system", "none"));

    // A hand-edited config with a password in the URL is refused when read.
    let cfg = t.engine.home().config_file();
    let text = std::fs::read_to_string(&cfg).unwrap().replace(
        "proxy = \"system\"",
        "proxy = \"http://me:hunter2@127.0.0.1:3128\"",
    );
    std::fs::write(&cfg, text).unwrap();
    let e = ferry_core::config::Config::load(t.engine.home()).unwrap_err();
    assert!(e.message.contains("keychain"), "{}", e.message);
    assert!(!e.message.contains("hunter2"), "{}", e.message);
}

// s3s-fs (a Linux program) cannot be started under Wine.
#[cfg(not(windows))]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_goes_through_the_same_proxy() {
    use crate::s3::{account, S3Server, SECRET_KEY};
    let server = S3Server::start("media");
    let proxy = ForwardProxy::socks5(ProxyAuth::None).await;
    let t = account(&server, &[], SECRET_KEY);
    // The provider is built (and cached) before the change: it must be rebuilt.
    t.engine.account_test("dest").await.unwrap();
    assert!(proxy.targets().is_empty());
    t.engine
        .proxy_set(
            &format!("socks5://{}", proxy.addr()),
            None,
            PasswordInput::Keep,
        )
        .unwrap();
    let bytes = png(400_000);
    let media = t.upload(&t.file("s.png", &bytes)).await.unwrap();
    assert_eq!(
        std::fs::read(server.object_path("media", &media[0].id)).unwrap(),
        bytes
    );
    assert!(
        proxy.targets().contains(&authority(&server.endpoint)),
        "{:?}",
        proxy.targets()
    );
    assert!(proxy.up_bytes() >= bytes.len() as u64);
}

/// A library item with a remote image link and no file here (its thumbnail is fetched).
fn remote_item(
    engine: &ferry_core::Engine,
    id: &str,
    url: String,
) -> ferry_core::library::LibraryItem {
    let media = ferry_core::RemoteMedia {
        id: id.into(),
        name: "r.png".into(),
        url: Some(url),
        mime_type: "image/png".into(),
        size: Some(10),
        status: ferry_core::MediaStatus::Ready,
        expires_at: None,
    };
    let id = engine
        .library_handle()
        .record(
            &media,
            &ferry_core::library::Provenance {
                account: "elsewhere",
                kind: Kind::Synposter,
                content_hash: None,
                job_id: None,
                source: None,
            },
        )
        .unwrap();
    engine.library_handle().get(id).unwrap().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn through_a_proxy_thumbnail_links_to_this_machine_are_still_refused_before_the_proxy() {
    let f = Fakes::start(Options::default()).await;
    f.origin.serve("/r.png", png(100), "image/png");
    let proxy = ForwardProxy::socks5(ProxyAuth::None).await;
    let t = synposter(&f);
    t.engine
        .proxy_set(
            &format!("socks5h://{}", proxy.addr()),
            None,
            PasswordInput::Keep,
        )
        .unwrap();
    let port = f.origin.base_url().rsplit(':').next().unwrap().to_string();
    let cache = t.dir.path().join("thumbs");
    // An IP literal, and a name that resolves to loopback (the proxy would resolve it
    // itself, so Ferry checks it first).
    for (id, url) in [
        ("literal", f.origin.url("/r.png")),
        ("name", format!("http://localhost:{port}/r.png")),
    ] {
        let item = remote_item(&t.engine, id, url.clone());
        let e = t.engine.fetch_thumbnail(&item, &cache).await.unwrap_err();
        assert_eq!(e.code, Code::InputInvalidUrl, "{url}: {}", e.message);
        assert!(e.message.contains("public"), "{}", e.message);
    }
    assert_eq!(proxy.connections(), 0, "nothing reached the proxy");
    assert!(f.origin.requests().is_empty(), "nor the origin");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_http_proxy_gets_its_user_and_password_as_basic_auth() {
    let f = Fakes::start(Options::default()).await;
    let proxy = ForwardProxy::http(ProxyAuth::UserPass("web".into(), "h77p-pass".into())).await;
    let t = synposter(&f);
    let url = format!("http://{}", proxy.addr());
    // Without credentials the proxy answers 407: the job fails, naming the proxy.
    t.engine.proxy_set(&url, None, PasswordInput::Keep).unwrap();
    let e = t.upload(&t.file("a.png", &png(4_000))).await.unwrap_err();
    assert_eq!(e.code, Code::NetworkConnect, "{e:?}");
    assert!(e.message.contains("proxy refused"), "{}", e.message);
    assert!(e.message.contains(&url), "{}", e.message);
    assert!(proxy.refused_auth() > 0);
    t.engine
        .proxy_set(
            &url,
            Some("web"),
            PasswordInput::Value(Secret::new("h77p-pass")),
        )
        .unwrap();
    t.upload(&t.file("b.png", &png(6_000))).await.unwrap();
    assert_eq!(f.synposter.objects().len(), 1);
}
