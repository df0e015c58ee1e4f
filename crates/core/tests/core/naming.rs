//! Account name templates end to end: the local library's paths (never overwriting a
//! different file, deduplicated, deleted through the library, temp files where the
//! leftover sweep finds them), S3 keys on the real s3s-fs server, and refusals when the
//! account is added.

use ferry_core::{Code, Kind, SecretInput};

use crate::support::{files_under, png, TestEngine};

/// A local library account `dest` with this template, in its default folder.
fn local_with(template: &str) -> (TestEngine, std::path::PathBuf) {
    let t = TestEngine::with_account(
        Kind::Local,
        &[("name_template", template.to_string())],
        None,
    );
    let lib = t.dir.path().join("home/library");
    (t, lib)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_library_files_are_named_by_the_template_with_the_content_hash() {
    let (t, lib) = local_with("{account}/{yyyy}-{mm}-{dd}/{rule}/{stem}-{hash8}{ext}");
    let path = t.file("Holiday shot.png", &png(500));
    let media = t.upload(&path).await.unwrap();
    let item = &t.library()[0];
    let hash8 = &item.content_hash.as_deref().unwrap()[..8];
    let day = chrono::Local::now().format("%Y-%m-%d");
    let expected = format!("dest/{day}/manual/Holiday shot-{hash8}.png");
    assert_eq!(
        media[0].id,
        expected.replace('/', std::path::MAIN_SEPARATOR_STR)
    );
    assert_eq!(std::fs::read(lib.join(&expected)).unwrap(), png(500));
    // No temp file is left anywhere in the library.
    let all = files_under(&lib);
    assert_eq!(all.len(), 1, "{all:?}");
}

/// Files over 64 MiB are normally hashed while they stream; `{hash8}` needs the hash
/// first, and gets it, even for a forced upload.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_or_forced_file_is_hashed_first_when_its_name_needs_the_hash() {
    let (t, lib) = local_with("{hash8}{ext}");
    let big = t.sparse_png("big.png", 70 * 1024 * 1024);
    let media = t.upload(&big).await.unwrap();
    let item = &t.library()[0];
    assert_eq!(
        media[0].id,
        format!("{}.png", &item.content_hash.as_deref().unwrap()[..8])
    );
    let small = t.file("s.png", &png(10));
    let id = t
        .engine
        .enqueue_paths(&[small], "dest", "test", true)
        .unwrap()[0];
    let media = t.run(id).await.unwrap();
    assert!(lib.join(&media[0].id).is_file());
    assert_eq!(media[0].id.len(), "12345678.png".len(), "{}", media[0].id);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_templated_name_that_is_taken_gets_a_suffix_and_never_replaces_the_file() {
    let (t, lib) = local_with("{yyyy}/{name}");
    let year = chrono::Local::now().format("%Y").to_string();
    // A file someone else put where the template points.
    std::fs::create_dir_all(lib.join(&year)).unwrap();
    std::fs::write(lib.join(&year).join("a.png"), b"theirs").unwrap();
    let first = t.file("one/a.png", &png(100));
    let second = t.file("two/a.png", &png(200));
    let m1 = t.upload(&first).await.unwrap();
    let m2 = t.upload(&second).await.unwrap();
    assert_eq!(
        std::fs::read(lib.join(&year).join("a.png")).unwrap(),
        b"theirs"
    );
    assert_eq!(std::fs::read(lib.join(&m1[0].id)).unwrap(), png(100));
    assert_eq!(std::fs::read(lib.join(&m2[0].id)).unwrap(), png(200));
    assert!(m1[0].id.ends_with("a (2).png"), "{}", m1[0].id);
    assert!(m2[0].id.ends_with("a (3).png"), "{}", m2[0].id);
}

/// What Ferry recognises as its own still works with templated names: the same bytes
/// are found at their templated path (not sent again), an item is deleted through the
/// library, and temp files of a dead process are swept.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dedupe_delete_and_the_leftover_sweep_recognise_templated_names() {
    let (t, lib) = local_with("deep/a/b/c/{rule}/{stem}{ext}");
    let path = t.file("x.png", &png(300));
    let m = t.upload(&path).await.unwrap();
    let copy = t.file("copy/x.png", &png(300));
    let id = t
        .engine
        .enqueue_paths(&[copy], "dest", "test", false)
        .unwrap()[0];
    let again = t.run(id).await.unwrap();
    assert_eq!(again[0].id, m[0].id);
    assert!(t.engine.job(id).unwrap().deduplicated);
    assert_eq!(files_under(&lib).len(), 1);
    // Temp files go to the top of the library, where the sweep looks.
    std::fs::write(lib.join(".ferry-dead.part"), b"half").unwrap();
    let swept = ferry_core::import::remove_part_files(&lib).unwrap();
    assert_eq!(swept, vec![lib.join(".ferry-dead.part")]);
    let item = t.library()[0].clone();
    t.engine.library_delete(item.id).await.unwrap();
    assert!(!lib.join(&m[0].id).exists());
}

#[test]
fn a_bad_template_is_refused_when_the_account_is_added() {
    let t = TestEngine::with_account(Kind::Local, &[], None);
    for (kind, tpl, says) in [
        (
            Kind::Local,
            "{yyyy}/{title}",
            "`{title}`, which is not a token",
        ),
        (Kind::Local, "../{name}", "`..`"),
        (Kind::Local, "{yyyy}|{name}", "holds `|`"),
        (Kind::S3, "/abs/{name}", "absolute"),
        (Kind::S3, "{yyyy}//{name}", "empty folder name"),
    ] {
        let mut opts = vec![("name_template".to_string(), tpl.to_string())];
        let secret = if kind == Kind::S3 {
            opts.push(("bucket".into(), "b".into()));
            opts.push(("access_key_id".into(), "AK".into()));
            SecretInput::Env("UNUSED_SECRET".into())
        } else {
            SecretInput::None
        };
        let e = t
            .engine
            .account_add("other", kind, &opts, secret)
            .unwrap_err();
        assert_eq!(e.code, Code::ConfigInvalid, "{tpl}");
        assert!(e.message.contains(says), "{tpl}: {}", e.message);
        assert!(!t.engine.config().accounts.contains_key("other"));
    }
    // Destinations that name what they store have no such option.
    let e = t
        .engine
        .account_add(
            "sp",
            Kind::Synposter,
            &[("name_template".into(), "{name}".into())],
            SecretInput::Env("K".into()),
        )
        .unwrap_err();
    assert!(
        e.message.contains("no option `name_template`"),
        "{}",
        e.message
    );
    let p = t
        .engine
        .name_preview(Kind::S3, "{account}/{name}", "media")
        .unwrap();
    assert_eq!(p, "media/IMG_2041.jpg");
}

#[cfg(not(windows))] // s3s-fs (a Linux program) cannot be started under Wine
mod s3 {
    use ferry_fakes::s3s::{S3Server, SECRET_KEY};

    use crate::s3::account;
    use crate::support::png;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn s3_keys_follow_the_template_after_the_prefix_in_one_put_and_in_parts() {
        let server = S3Server::start("media");
        let t = account(
            &server,
            &[("name_template", "{yyyy}/{mm}/{stem}-{hash8}{ext}".into())],
            SECRET_KEY,
        );
        let month = chrono::Local::now().format("%Y/%m");
        let bytes = png(2_000);
        let media = t.upload(&t.file("café.png", &bytes)).await.unwrap();
        let hash8 = t.library()[0].content_hash.clone().unwrap()[..8].to_string();
        assert_eq!(media[0].id, format!("ferry/{month}/café-{hash8}.png"));
        assert_eq!(
            std::fs::read(server.object_path("media", &media[0].id)).unwrap(),
            bytes
        );
        // Over the multipart threshold: the key is chosen (and journaled) the same way.
        let big = t.sparse_png("big.png", 33 * 1024 * 1024);
        let media = t.upload(&big).await.unwrap();
        let item = t
            .library()
            .into_iter()
            .find(|i| i.name == "big.png")
            .unwrap();
        let hash8 = &item.content_hash.unwrap()[..8];
        assert_eq!(media[0].id, format!("ferry/{month}/big-{hash8}.png"));
        let stored = std::fs::metadata(server.object_path("media", &media[0].id)).unwrap();
        assert_eq!(stored.len(), 33 * 1024 * 1024);
    }
}
