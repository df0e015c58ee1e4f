//! What goes on the wire, captured on a raw socket: every body Ferry sends has an explicit
//! Content-Length and never `Transfer-Encoding: chunked` (real S3 answers 501 to it, and
//! ordinary local test servers accept it, so only a raw capture catches a regression).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use ferry_core::Kind;

use crate::support::{png, TestEngine};

#[derive(Debug, Clone)]
struct Captured {
    method: String,
    head: String,
    body_len: usize,
}

/// A minimal HTTP/1.1 server on 127.0.0.1 that records request heads and answers with
/// `respond(method, path, port)`. It refuses chunked bodies with 501, as S3 does.
fn raw_server(
    respond: impl Fn(&str, &str, u16) -> (u16, String) + Send + Sync + 'static,
) -> (u16, Arc<Mutex<Vec<Captured>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let log = Arc::new(Mutex::new(Vec::new()));
    let respond = Arc::new(respond);
    let log2 = log.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().take(16) {
            let Ok(stream) = stream else { break };
            let log = log2.clone();
            let respond = respond.clone();
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut out = stream;
                for _ in 0..16 {
                    let mut head = String::new();
                    loop {
                        let mut line = String::new();
                        if reader.read_line(&mut line).unwrap_or(0) == 0 {
                            return;
                        }
                        head.push_str(&line);
                        if line == "\r\n" {
                            break;
                        }
                    }
                    let lower = head.to_ascii_lowercase();
                    let mut first = head.split_whitespace();
                    let method = first.next().unwrap_or("").to_string();
                    let path = first.next().unwrap_or("").to_string();
                    let chunked = lower.contains("transfer-encoding: chunked");
                    let len: usize = lower
                        .lines()
                        .find_map(|l| l.strip_prefix("content-length:"))
                        .map(|v| v.trim().parse().unwrap())
                        .unwrap_or(0);
                    let mut body = vec![0u8; len];
                    if !chunked {
                        reader.read_exact(&mut body).unwrap();
                    }
                    log.lock().unwrap().push(Captured {
                        method: method.clone(),
                        head: head.clone(),
                        body_len: len,
                    });
                    let (status, text) = if chunked {
                        (
                            501,
                            "<Error><Code>NotImplemented</Code></Error>".to_string(),
                        )
                    } else {
                        respond(&method, &path, port)
                    };
                    let resp = format!(
                        "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\netag: \"abc\"\r\ncontent-length: {}\r\n\r\n{text}",
                        text.len()
                    );
                    if out.write_all(resp.as_bytes()).is_err() || chunked {
                        return;
                    }
                }
            });
        }
    });
    (port, log)
}

fn assert_explicit_length(c: &Captured, expected: usize) {
    let lower = c.head.to_ascii_lowercase();
    assert!(
        !lower.contains("transfer-encoding"),
        "no chunked encoding:\n{}",
        c.head
    );
    assert!(
        lower.contains(&format!("content-length: {expected}")),
        "explicit length {expected}:\n{}",
        c.head
    );
    assert_eq!(c.body_len, expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn presigned_put_has_an_explicit_content_length() {
    let (port, log) = raw_server(|method, _path, port| match method {
        "POST" => (
            201,
            format!(
                r#"{{"id":"u1","upload_url":"http://127.0.0.1:{port}/put?token=t","public_url":"http://127.0.0.1:{port}/pub","path":"p/u1.png","mime_type":"image/png","expires_at":"2099-01-01T00:00:00Z"}}"#
            ),
        ),
        _ => (200, r#"{"Key":"media/p/u1.png"}"#.to_string()),
    });
    let t = TestEngine::with_account(
        Kind::Synposter,
        &[("api_url", format!("http://127.0.0.1:{port}/v1"))],
        Some("sk_live_x"),
    );
    let bytes = png(1_500_000);
    let path = t.file("a.png", &bytes);
    t.upload(&path).await.unwrap();
    let log = log.lock().unwrap().clone();
    let put = log.iter().find(|c| c.method == "PUT").expect("a PUT");
    assert_explicit_length(put, bytes.len());
    assert!(put
        .head
        .to_ascii_lowercase()
        .contains("content-type: image/png"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_put_object_has_an_explicit_content_length() {
    let (port, log) = raw_server(|_, _, _| (200, String::new()));
    let t = TestEngine::with_account(
        Kind::S3,
        &[
            ("bucket", "b".into()),
            ("endpoint", format!("http://127.0.0.1:{port}")),
            ("path_style", "true".into()),
            ("access_key_id", "AK".into()),
        ],
        Some("SK"),
    );
    let bytes = png(700_000);
    let path = t.file("a.png", &bytes);
    t.upload(&path).await.unwrap();
    let log = log.lock().unwrap().clone();
    let put = log.iter().find(|c| c.method == "PUT").expect("a PUT");
    assert_explicit_length(put, bytes.len());
    assert!(
        !put.head.contains("SK"),
        "the secret never goes on the wire"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postsyncer_multipart_has_an_explicit_content_length() {
    let (port, log) = raw_server(|_, _, _| {
        (
            201,
            r#"{"media":{"id":1,"name":"a.png","url":"https://x/a.png","mime_type":"image/png","size":10,"is_processing":false}}"#.to_string(),
        )
    });
    let base = format!("http://127.0.0.1:{port}/api/v1");
    let t = TestEngine::with_account(
        Kind::Postsyncer,
        &[
            ("api_url", base.clone()),
            ("upload_url", base),
            ("workspace_id", "7".into()),
        ],
        Some("1|t"),
    );
    let bytes = png(900_000);
    let path = t.file("a.png", &bytes);
    t.upload(&path).await.unwrap();
    let log = log.lock().unwrap().clone();
    let post = log.iter().find(|c| c.method == "POST").expect("a POST");
    assert!(
        !post.head.to_ascii_lowercase().contains("transfer-encoding"),
        "{}",
        post.head
    );
    assert!(
        post.body_len > bytes.len(),
        "multipart body with its own explicit length"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cleanup_aborts_only_ferrys_orphaned_multipart_uploads() {
    // An S3 endpoint that lists three unfinished uploads: an orphan Ferry started, one a
    // paused job still owns, and one another tool started under the same prefix.
    let (port, log) = raw_server(|method, path, _| {
        match method {
        "GET" if path.contains("uploads") => (
            200,
            r#"<?xml version="1.0" encoding="UTF-8"?>
<ListMultipartUploadsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Bucket>b</Bucket><MaxUploads>1000</MaxUploads><IsTruncated>false</IsTruncated>
<Upload><Key>ferry/2026/11/24/0a1b2c3d/a.mp4</Key><UploadId>orphan-1</UploadId></Upload>
<Upload><Key>ferry/2026/11/24/deadbeef/b.mp4</Key><UploadId>owned-1</UploadId></Upload>
<Upload><Key>ferry/other-tool/c.mp4</Key><UploadId>foreign-1</UploadId></Upload>
</ListMultipartUploadsResult>"#
                .to_string(),
        ),
        "DELETE" => (204, String::new()),
        _ => (404, String::new()),
    }
    });
    let t = TestEngine::with_account(
        Kind::S3,
        &[
            ("bucket", "b".into()),
            ("endpoint", format!("http://127.0.0.1:{port}")),
            ("path_style", "true".into()),
            ("prefix", "ferry/".into()),
            ("access_key_id", "AK".into()),
        ],
        Some("SK"),
    );
    // A paused job owns `owned-1` through its resume state.
    let id = t
        .engine
        .enqueue_paths(&[t.file("b.mp4", b"x")], "dest", "test", false)
        .unwrap()[0];
    t.engine.pause(ferry_core::Selector::One(id)).unwrap();
    let db = ferry_core::db::Db::open(&t.dir.path().join("home/ferry.db")).unwrap();
    db.conn()
        .execute(
            "UPDATE jobs SET resume = ?1 WHERE id = ?2",
            rusqlite_params(id),
        )
        .unwrap();
    let cleaned = t.engine.account_cleanup("dest").await.unwrap();
    assert_eq!(cleaned.len(), 1, "{cleaned:?}");
    assert!(cleaned[0].contains("0a1b2c3d/a.mp4"));
    let log = log.lock().unwrap().clone();
    let deletes: Vec<_> = log.iter().filter(|c| c.method == "DELETE").collect();
    assert_eq!(deletes.len(), 1);
    assert!(
        deletes[0].head.contains("uploadId=orphan-1"),
        "{}",
        deletes[0].head
    );
}

/// With a name template, cleanup knows Ferry's keys by the template's shape (and still
/// by Ferry's own, for uploads started before the template was set); another tool's
/// upload under the same prefix is left alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cleanup_recognises_keys_made_by_the_accounts_name_template() {
    let (port, log) = raw_server(|method, path, _| {
        match method {
        "GET" if path.contains("uploads") => (
            200,
            r#"<?xml version="1.0" encoding="UTF-8"?>
<ListMultipartUploadsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Bucket>b</Bucket><MaxUploads>1000</MaxUploads><IsTruncated>false</IsTruncated>
<Upload><Key>ferry/2026/11/clip-0a1b2c3d.mp4</Key><UploadId>templated-1</UploadId></Upload>
<Upload><Key>ferry/2026/11/24/0a1b2c3d/a.mp4</Key><UploadId>legacy-1</UploadId></Upload>
<Upload><Key>ferry/2026/11/clip-final.mp4</Key><UploadId>foreign-1</UploadId></Upload>
<Upload><Key>ferry/other-tool/c.mp4</Key><UploadId>foreign-2</UploadId></Upload>
</ListMultipartUploadsResult>"#
                .to_string(),
        ),
        "DELETE" => (204, String::new()),
        _ => (404, String::new()),
    }
    });
    let t = TestEngine::with_account(
        Kind::S3,
        &[
            ("bucket", "b".into()),
            ("endpoint", format!("http://127.0.0.1:{port}")),
            ("path_style", "true".into()),
            ("prefix", "ferry/".into()),
            ("access_key_id", "AK".into()),
            ("name_template", "{yyyy}/{mm}/{stem}-{hash8}{ext}".into()),
        ],
        Some("SK"),
    );
    let mut cleaned = t.engine.account_cleanup("dest").await.unwrap();
    cleaned.sort();
    assert_eq!(cleaned.len(), 2, "{cleaned:?}");
    assert!(
        cleaned[0].contains("2026/11/24/0a1b2c3d/a.mp4"),
        "{cleaned:?}"
    );
    assert!(
        cleaned[1].contains("2026/11/clip-0a1b2c3d.mp4"),
        "{cleaned:?}"
    );
    let log = log.lock().unwrap().clone();
    let deletes: Vec<&str> = log
        .iter()
        .filter(|c| c.method == "DELETE")
        .map(|c| c.head.as_str())
        .collect();
    assert_eq!(deletes.len(), 2);
    assert!(
        deletes.iter().all(|h| !h.contains("foreign")),
        "{deletes:?}"
    );
}

fn rusqlite_params(id: i64) -> (String, i64) {
    (
        serde_json::json!({
            "kind": "s3-multipart", "key": "ferry/2026/11/24/deadbeef/b.mp4", "upload_id": "owned-1",
            "part_size": 8388608, "size": 100000000, "parts": []
        })
        .to_string(),
        id,
    )
}
