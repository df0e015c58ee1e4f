//! Contract tests of the fakes themselves, over real sockets with reqwest.

use std::time::Duration;

use ferry_fakes::*;
use reqwest::multipart::{Form, Part};
use reqwest::{Client, StatusCode};
use serde_json::{json, Value};

fn jpeg() -> Vec<u8> {
    let mut v = vec![
        0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, b'J', b'F', b'I', b'F', 0x00,
    ];
    v.extend(std::iter::repeat_n(0x42, 300));
    v
}

fn mp4() -> Vec<u8> {
    let mut v = vec![0, 0, 0, 0x18];
    v.extend_from_slice(b"ftypisom");
    v.extend(std::iter::repeat_n(0x11, 500));
    v
}

async fn fakes() -> Fakes {
    Fakes::start(Options::default()).await
}

async fn fakes_with(f: impl FnOnce(&mut Options)) -> Fakes {
    let mut o = Options::default();
    f(&mut o);
    Fakes::start(o).await
}

fn client() -> Client {
    Client::new()
}

async fn body_json(r: reqwest::Response) -> Value {
    r.json().await.expect("json body")
}

fn chunked(bytes: Vec<u8>) -> reqwest::Body {
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        bytes.chunks(1000).map(|c| Ok(c.to_vec())).collect();
    reqwest::Body::wrap_stream(futures_util::stream::iter(chunks))
}

// ---------------------------------------------------------------- PostSyncer

fn ps_auth(rb: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
    rb.bearer_auth(POSTSYNCER_TOKEN)
}

fn file_form(ws: &str, name: &str, bytes: Vec<u8>) -> Form {
    Form::new()
        .text("workspace_id", ws.to_string())
        .part("file", Part::bytes(bytes).file_name(name.to_string()))
}

async fn ps_upload(f: &Fakes, bytes: Vec<u8>, name: &str) -> reqwest::Response {
    let url = format!("{}/media/upload/file", f.postsyncer.upload_url().unwrap());
    ps_auth(client().post(url))
        .multipart(file_form("7", name, bytes))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn postsyncer_without_a_valid_bearer_token_answers_401_unauthenticated() {
    let f = fakes().await;
    let url = format!("{}/workspaces", f.postsyncer.api_url());
    let r = client().get(&url).send().await.unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(body_json(r).await, json!({"message": "Unauthenticated."}));
    let r = client()
        .get(&url)
        .bearer_auth("11|nope")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let r = ps_auth(client().get(&url)).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.headers().contains_key("x-ratelimit-remaining"));
    assert_eq!(body_json(r).await[0]["id"], 7);
}

#[tokio::test]
async fn postsyncer_file_upload_exists_only_on_the_upload_host() {
    let f = fakes().await;
    let wrong = format!("{}/media/upload/file", f.postsyncer.api_url());
    let r = ps_auth(client().post(wrong))
        .multipart(file_form("7", "a.jpg", jpeg()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);

    let r = ps_upload(&f, jpeg(), "photo.jpg").await;
    assert_eq!(r.status(), 201);
    let v = body_json(r).await;
    assert_eq!(v["media"]["mime_type"], "image/jpeg");
    assert_eq!(v["media"]["name"], "photo.jpg");
    assert_eq!(v["media"]["workspace_id"], 7);
    assert_eq!(v["media"]["folder_id"], Value::Null);
    assert_eq!(v["media"]["size"], jpeg().len());
    let url = v["media"]["url"].as_str().unwrap();
    assert_eq!(f.postsyncer.object(url).unwrap().bytes, jpeg());
    let got = client().get(url).send().await.unwrap();
    assert_eq!(got.status(), 200);
    assert_eq!(got.bytes().await.unwrap().to_vec(), jpeg());
}

#[tokio::test]
async fn postsyncer_upload_validation_errors_use_the_laravel_envelope() {
    let f = fakes().await;
    let url = format!("{}/media/upload/file", f.postsyncer.upload_url().unwrap());
    let form = Form::new().part("file", Part::bytes(b"hello".to_vec()).file_name("a.txt"));
    let r = ps_auth(client().post(&url))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    let v = body_json(r).await;
    assert_eq!(
        v["message"],
        "The workspace id field is required. (and 1 more error)"
    );
    assert_eq!(
        v["errors"]["workspace_id"][0],
        "The workspace id field is required."
    );
    assert!(v["errors"]["file"][0]
        .as_str()
        .unwrap()
        .contains("must be a file of type"));

    let r = ps_auth(client().post(&url))
        .multipart(file_form("8", "a.jpg", jpeg()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    assert_eq!(
        body_json(r).await["errors"]["workspace_id"][0],
        "The selected workspace id is invalid."
    );

    let r = ps_auth(client().post(&url))
        .multipart(file_form("7", "a.jpg", jpeg()).text("folder_id", "900"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    assert_eq!(
        body_json(r).await["errors"]["folder_id"][0],
        "The selected folder id is invalid."
    );
    assert!(f.postsyncer.objects().is_empty());
}

#[tokio::test]
async fn postsyncer_upload_over_the_size_limit_is_422_and_stores_nothing() {
    let f = fakes_with(|o| o.postsyncer_max_bytes = 3_000_000).await;
    let mut big = jpeg();
    big.resize(3_500_000, 7);
    let r = ps_upload(&f, big, "big.jpg").await;
    assert_eq!(r.status(), 422);
    assert!(body_json(r).await["errors"]["file"][0]
        .as_str()
        .unwrap()
        .contains("must not be greater than"));
    assert!(f.postsyncer.objects().is_empty());
    // Above axum's default 2 MB limit but below ours: accepted.
    let mut ok = jpeg();
    ok.resize(2_900_000, 7);
    assert_eq!(ps_upload(&f, ok, "ok.jpg").await.status(), 201);
}

#[tokio::test]
async fn postsyncer_video_is_processing_until_it_has_been_fetched_once() {
    let f = fakes().await;
    let v = body_json(ps_upload(&f, mp4(), "clip.mp4").await).await;
    assert_eq!(v["media"]["type"], "video");
    assert_eq!(v["media"]["is_processing"], true);
    let url = format!("{}/media/{}", f.postsyncer.api_url(), v["media"]["id"]);
    let first = body_json(ps_auth(client().get(&url)).send().await.unwrap()).await;
    assert_eq!(first["data"]["is_processing"], true);
    let second = body_json(ps_auth(client().get(&url)).send().await.unwrap()).await;
    assert_eq!(second["data"]["is_processing"], false);
    assert_eq!(second["data"]["progress"], 100);
}

#[tokio::test]
async fn postsyncer_import_skips_unusable_urls_by_default() {
    let f = fakes().await;
    f.origin.serve("/pics/a.jpg", jpeg(), "image/jpeg");
    f.origin.serve_with(
        "/dl",
        mp4(),
        OriginOpts {
            content_type: "application/octet-stream".into(),
            content_length: false,
            content_disposition: Some("attachment; filename=\"holiday.mp4\"".into()),
            redirect_to: None,
            ..OriginOpts::default()
        },
    );
    f.origin.serve_with(
        "/moved",
        vec![],
        OriginOpts {
            redirect_to: Some("/pics/a.jpg".into()),
            ..OriginOpts::default()
        },
    );
    f.origin
        .serve("/page.html", b"<html></html>".to_vec(), "text/html");
    let urls = vec![
        f.origin.url("/pics/a.jpg"),
        f.origin.url("/dl"),
        f.origin.url("/moved"),
        f.origin.url("/missing.jpg"),
        f.origin.url("/page.html"),
        "http://example.invalid/x.jpg".to_string(),
    ];
    let r = ps_auth(client().post(format!("{}/media/upload/url", f.postsyncer.api_url())))
        .json(&json!({"workspace_id": 7, "urls": urls}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let v = body_json(r).await;
    assert_eq!(v["count_stored"], 3);
    assert_eq!(v["media"][1]["name"], "holiday.mp4");
    assert_eq!(v["media"][1]["mime_type"], "video/mp4");
    assert_eq!(f.postsyncer.objects().len(), 3);
    assert!(f.origin.requests().iter().any(|r| r.path == "/missing.jpg"));
}

#[tokio::test]
async fn postsyncer_import_in_all_or_nothing_mode_fails_with_422_naming_the_link() {
    let f = fakes_with(|o| o.postsyncer_import_all_or_nothing = true).await;
    f.origin.serve("/a.jpg", jpeg(), "image/jpeg");
    let url = format!("{}/media/upload/url", f.postsyncer.api_url());
    let r = ps_auth(client().post(&url))
        .json(&json!({"workspace_id": 7, "urls": [f.origin.url("/a.jpg"), f.origin.url("/nope.jpg")]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    let v = body_json(r).await;
    assert!(v["errors"]["urls.1"][0]
        .as_str()
        .unwrap()
        .contains("/nope.jpg"));
    assert!(f.postsyncer.objects().is_empty());

    let r = ps_auth(client().post(&url))
        .json(&json!({"workspace_id": 7, "urls": ["not a url"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        body_json(r).await["errors"]["urls.0"][0],
        "The urls.0 field must be a valid URL."
    );
}

#[tokio::test]
async fn postsyncer_media_list_paginates_and_validates_filters() {
    let f = fakes().await;
    for i in 0..3 {
        ps_upload(&f, jpeg(), &format!("{i}.jpg")).await;
    }
    let url = format!("{}/media", f.postsyncer.api_url());
    let r = ps_auth(client().get(&url))
        .query(&[("per_page", "101")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    assert_eq!(
        body_json(r).await["errors"]["per_page"][0],
        "The per page field must not be greater than 100."
    );
    let r = ps_auth(client().get(&url))
        .query(&[("folder_id", "1"), ("root_only", "true")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);

    let v = body_json(
        ps_auth(client().get(&url))
            .query(&[("workspace_id", "7"), ("per_page", "2")])
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(v["data"].as_array().unwrap().len(), 2);
    assert_eq!(v["meta"]["total"], 3);
    assert_eq!(v["meta"]["last_page"], 2);
    let next = v["links"]["next"].as_str().unwrap().to_string();
    let v2 = body_json(ps_auth(client().get(next)).send().await.unwrap()).await;
    assert_eq!(v2["data"].as_array().unwrap().len(), 1);
    assert_eq!(v2["links"]["next"], Value::Null);
}

#[tokio::test]
async fn postsyncer_delete_removes_the_media_and_a_repeat_is_404() {
    let f = fakes().await;
    let v = body_json(ps_upload(&f, jpeg(), "x.jpg").await).await;
    let url = format!("{}/media/{}", f.postsyncer.api_url(), v["media"]["id"]);
    let r = ps_auth(client().delete(&url)).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        body_json(r).await,
        json!({"message": "Media deleted successfully"})
    );
    assert!(f.postsyncer.objects().is_empty());
    let r = ps_auth(client().delete(&url)).send().await.unwrap();
    assert_eq!(r.status(), 404);
    // Media of the foreign workspace is invisible.
    let r = ps_auth(client().get(format!("{}/media/900", f.postsyncer.api_url())))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
}

#[tokio::test]
async fn postsyncer_folders_are_created_listed_and_checked() {
    let f = fakes().await;
    let url = format!("{}/folders", f.postsyncer.api_url());
    let r = ps_auth(client().post(&url))
        .json(&json!({"workspace_id": 7, "name": "Summer"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let folder = body_json(r).await;
    assert_eq!(folder["color"], "#4F46E5");
    let r = ps_auth(client().post(&url))
        .json(&json!({"workspace_id": 7}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    let list = body_json(ps_auth(client().get(&url)).send().await.unwrap()).await;
    assert_eq!(list.as_array().unwrap().len(), 1);
    // Upload into the folder.
    let up = format!("{}/media/upload/file", f.postsyncer.upload_url().unwrap());
    let r = ps_auth(client().post(up))
        .multipart(file_form("7", "f.jpg", jpeg()).text("folder_id", folder["id"].to_string()))
        .send()
        .await
        .unwrap();
    assert_eq!(body_json(r).await["media"]["folder_id"], folder["id"]);
}

#[tokio::test]
async fn postsyncer_rate_limit_answers_429_until_the_window_resets() {
    let f = fakes().await;
    f.postsyncer.set_rate_limit(2);
    let url = format!("{}/workspaces", f.postsyncer.api_url());
    for _ in 0..2 {
        let r = ps_auth(client().get(&url)).send().await.unwrap();
        assert_eq!(r.status(), 200);
    }
    let r = ps_auth(client().get(&url)).send().await.unwrap();
    assert_eq!(r.status(), 429);
    assert_eq!(r.headers()["x-ratelimit-remaining"], "0");
    assert!(r.headers().contains_key("retry-after"));
    assert!(r.headers().contains_key("x-ratelimit-reset"));
    assert_eq!(body_json(r).await, json!({"message": "Too Many Attempts."}));
    f.postsyncer.advance_clock(Duration::from_secs(61));
    assert_eq!(
        ps_auth(client().get(&url)).send().await.unwrap().status(),
        200
    );
}

// ----------------------------------------------------------------- Synposter

async fn sp_presign(f: &Fakes, filename: &str, mime: &str) -> Value {
    let r = client()
        .post(format!("{}/media", f.synposter.api_url()))
        .header("x-api-key", SYNPOSTER_KEY)
        .json(&json!({"filename": filename, "mime_type": mime}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    body_json(r).await
}

#[tokio::test]
async fn synposter_accepts_only_the_x_api_key_header() {
    let f = fakes().await;
    let url = format!("{}/health", f.synposter.api_url());
    let r = client().get(&url).send().await.unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(body_json(r).await, json!({"error": "unauthorized"}));
    let r = client()
        .get(&url)
        .bearer_auth(SYNPOSTER_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let r = client()
        .get(&url)
        .header("X-API-KEY", SYNPOSTER_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    // Media listing is not shipped.
    let r = client()
        .get(format!("{}/media", f.synposter.api_url()))
        .header("x-api-key", SYNPOSTER_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
}

#[tokio::test]
async fn synposter_presign_validation_returns_the_documented_codes() {
    let f = fakes().await;
    let url = format!("{}/media", f.synposter.api_url());
    let send = |body: String| {
        client()
            .post(&url)
            .header("x-api-key", SYNPOSTER_KEY)
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    let cases = [
        ("nope", "invalid_json"),
        ("[1]", "invalid_json"),
        (r#"{"mime_type":"image/png"}"#, "invalid_filename"),
        (
            r#"{"filename":"a/b.png","mime_type":"image/png"}"#,
            "invalid_filename",
        ),
        (
            r#"{"filename":"a.pdf","mime_type":"application/pdf"}"#,
            "invalid_mime_type",
        ),
    ];
    for (body, code) in cases {
        let r = send(body.to_string()).await.unwrap();
        assert_eq!(r.status(), 400, "{body}");
        assert_eq!(body_json(r).await, json!({ "error": code }), "{body}");
    }
    let v = sp_presign(&f, "Photo.JPG", "image/jpeg").await;
    assert!(v["path"].as_str().unwrap().ends_with(".jpg"));
    assert!(v["expires_at"].as_str().unwrap().ends_with('Z'));
    assert_eq!(v["mime_type"], "image/jpeg");
}

#[tokio::test]
async fn synposter_storage_put_is_strict_and_the_public_url_is_404_before_it() {
    let f = fakes().await;
    let v = sp_presign(&f, "a.png", "image/png").await;
    let (up, public) = (
        v["upload_url"].as_str().unwrap(),
        v["public_url"].as_str().unwrap(),
    );
    assert_eq!(client().get(public).send().await.unwrap().status(), 404);
    let bytes = b"\x89PNG\r\n\x1a\nfake png".to_vec();
    let r = client()
        .put(up)
        .header("content-type", "image/jpeg")
        .body(bytes.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let r = client()
        .put(up)
        .header("content-type", "image/png")
        .body(chunked(bytes.clone()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 411);
    assert!(f.synposter.objects().is_empty());
    let r = client()
        .put(up)
        .header("content-type", "image/png")
        .body(bytes.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let got = client().get(public).send().await.unwrap();
    assert_eq!(got.headers()["content-type"], "image/png");
    assert_eq!(got.bytes().await.unwrap().to_vec(), bytes);
    let r = client()
        .put(up)
        .header("content-type", "image/png")
        .body(bytes.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 409);
    assert_eq!(body_json(r).await["error"], "Duplicate");
    let puts = f
        .synposter
        .requests()
        .into_iter()
        .filter(|r| r.method == "PUT")
        .count();
    assert_eq!(puts, 4);
}

#[tokio::test]
async fn synposter_storage_rejects_too_large_and_expired_uploads() {
    let f = fakes_with(|o| o.synposter_max_bytes = 1000).await;
    let v = sp_presign(&f, "a.png", "image/png").await;
    let up = v["upload_url"].as_str().unwrap();
    let r = client()
        .put(up)
        .header("content-type", "image/png")
        .body(vec![1u8; 2000])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
    assert!(f.synposter.objects().is_empty());
    f.synposter.advance_clock(Duration::from_secs(2 * 3600 + 1));
    let r = client()
        .put(up)
        .header("content-type", "image/png")
        .body(vec![1u8; 10])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert!(f.synposter.objects().is_empty());
}

// -------------------------------------------------------------- SocialSyncer

async fn ss_presign(f: &Fakes, filename: &str, ct: &str) -> reqwest::Response {
    client()
        .post(format!("{}/media/presign", f.socialsyncer.api_url()))
        .bearer_auth(SOCIALSYNCER_KEY)
        .json(&json!({"filename": filename, "contentType": ct}))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn socialsyncer_auth_errors_distinguish_missing_and_invalid_keys() {
    let f = fakes().await;
    let url = format!("{}/accounts", f.socialsyncer.api_url());
    let r = client().get(&url).send().await.unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(
        body_json(r).await,
        json!({"error": "Missing API key", "code": "AUTH_MISSING_KEY"})
    );
    let r = client()
        .get(&url)
        .bearer_auth("sk_wrong")
        .send()
        .await
        .unwrap();
    assert_eq!(
        body_json(r).await,
        json!({"error": "Invalid API key", "code": "AUTH_INVALID_KEY"})
    );
    let r = client()
        .get(&url)
        .bearer_auth(SOCIALSYNCER_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(body_json(r).await, json!({"accounts": []}));
}

#[tokio::test]
async fn socialsyncer_presign_validates_filename_and_content_type() {
    let f = fakes().await;
    for (name, ct) in [
        ("noext", "image/png"),
        ("", "image/png"),
        ("a.pdf", "application/pdf"),
    ] {
        let r = ss_presign(&f, name, ct).await;
        assert_eq!(r.status(), 400);
        assert_eq!(body_json(r).await["code"], "VALIDATION_ERROR");
    }
    let v = body_json(ss_presign(&f, "clip.mov", "video/quicktime").await).await;
    assert_eq!(v["expiresIn"], 3600);
    assert!(v["key"].as_str().unwrap().starts_with("media/"));
    assert!(v["key"].as_str().unwrap().ends_with(".mov"));
}

#[tokio::test]
async fn socialsyncer_s3_put_behaves_like_s3_and_objects_expire_after_7_days() {
    let f = fakes().await;
    let v = body_json(ss_presign(&f, "a.jpg", "image/jpeg").await).await;
    let (up, public) = (
        v["uploadUrl"].as_str().unwrap(),
        v["publicUrl"].as_str().unwrap(),
    );
    assert_eq!(client().get(public).send().await.unwrap().status(), 404);
    let r = client()
        .put(up)
        .header("content-type", "image/png")
        .body(jpeg())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert!(r.text().await.unwrap().contains("SignatureDoesNotMatch"));
    let r = client()
        .put(up)
        .header("content-type", "image/jpeg")
        .body(chunked(jpeg()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 411);
    // More than axum's default 2 MB body limit.
    let mut big = jpeg();
    big.resize(5_000_000, 3);
    let r = client()
        .put(up)
        .header("content-type", "image/jpeg")
        .body(big.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.headers().contains_key("etag"));
    let got = client().get(public).send().await.unwrap();
    assert_eq!(got.status(), 200);
    assert_eq!(got.bytes().await.unwrap().len(), big.len());
    f.socialsyncer
        .advance_clock(Duration::from_secs(7 * 24 * 3600 + 1));
    let r = client().get(public).send().await.unwrap();
    assert_eq!(r.status(), 404);
    assert!(r.text().await.unwrap().contains("NoSuchKey"));
    assert!(f.socialsyncer.objects().is_empty());
}

#[tokio::test]
async fn socialsyncer_expired_or_oversized_puts_get_s3_xml_errors() {
    let f = fakes_with(|o| o.socialsyncer_max_bytes = 100).await;
    let v = body_json(ss_presign(&f, "a.jpg", "image/jpeg").await).await;
    let up = v["uploadUrl"].as_str().unwrap().to_string();
    let r = client()
        .put(&up)
        .header("content-type", "image/jpeg")
        .body(vec![0u8; 101])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("EntityTooLarge"));
    f.socialsyncer.advance_clock(Duration::from_secs(3601));
    let r = client()
        .put(&up)
        .header("content-type", "image/jpeg")
        .body(vec![0u8; 10])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let t = r.text().await.unwrap();
    assert!(t.contains("<Code>AccessDenied</Code>") && t.contains("Request has expired"));
}

#[tokio::test]
async fn socialsyncer_rate_limit_answers_429_with_retry_after() {
    let f = fakes().await;
    f.socialsyncer.set_rate_limit(1);
    assert_eq!(ss_presign(&f, "a.jpg", "image/jpeg").await.status(), 200);
    let r = ss_presign(&f, "a.jpg", "image/jpeg").await;
    assert_eq!(r.status(), 429);
    assert!(r.headers().contains_key("retry-after"));
    assert_eq!(
        body_json(r).await,
        json!({"error": "Rate limit exceeded", "code": "RATE_LIMIT_EXCEEDED"})
    );
}

// ------------------------------------------------------------------- FastPix

fn fp(rb: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
    rb.basic_auth(FASTPIX_TOKEN_ID, Some(FASTPIX_SECRET))
}

async fn fp_upload(f: &Fakes) -> Value {
    let r = fp(client().post(format!("{}/on-demand/upload", f.fastpix.api_url())))
        .json(&json!({"corsOrigin": "*", "pushMediaSettings": {"accessPolicy": "public"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    body_json(r).await["data"].clone()
}

#[tokio::test]
async fn fastpix_requires_basic_auth() {
    let f = fakes().await;
    let url = format!("{}/on-demand", f.fastpix.api_url());
    let r = client().get(&url).send().await.unwrap();
    assert_eq!(r.status(), 401);
    let v = body_json(r).await;
    assert_eq!(v["success"], false);
    assert_eq!(v["error"]["code"], 401);
    let r = client()
        .get(&url)
        .basic_auth(FASTPIX_TOKEN_ID, Some("wrong"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(fp(client().get(&url)).send().await.unwrap().status(), 200);
}

#[tokio::test]
async fn fastpix_pull_creation_validates_payload_with_field_errors() {
    let f = fakes_with(|o| o.fastpix_strict = true).await;
    let url = format!("{}/on-demand", f.fastpix.api_url());
    let r = fp(client().post(&url))
        .json(&json!({"inputs": [], "maxResolution": "999p"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    let v = body_json(r).await;
    assert_eq!(v["error"]["message"], "payload validation failed");
    let fields: Vec<&str> = v["error"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["inputs", "accessPolicy", "maxResolution"]);
    let r = fp(client().post(&url))
        .header("content-type", "application/json")
        .body("{oops")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let r = fp(client().post(&url))
        .json(&json!({"inputs": [{"type": "video", "url": "https://example.com/a.mp4"}], "accessPolicy": "public"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let v = body_json(r).await;
    assert_eq!(v["data"]["status"], "Created");
    assert_eq!(v["data"]["playbackIds"][0]["accessPolicy"], "public");
    // Strict mode also requires corsOrigin on push uploads.
    let r = fp(client().post(format!("{url}/upload")))
        .json(&json!({"pushMediaSettings": {"accessPolicy": "public"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    assert_eq!(
        body_json(r).await["error"]["fields"][0]["field"],
        "corsOrigin"
    );
}

#[tokio::test]
async fn fastpix_pulled_media_walks_through_statuses_to_ready_or_failed() {
    let f = fakes().await;
    let url = format!("{}/on-demand", f.fastpix.api_url());
    let mut ids = vec![];
    for src in [
        "https://example.com/a.mp4",
        "https://example.com/fail/a.mp4",
        "https://example.com/a.txt",
    ] {
        let r = fp(client().post(&url))
            .json(&json!({"inputs": [{"type": "video", "url": src}]}))
            .send()
            .await
            .unwrap();
        ids.push(
            body_json(r).await["data"]["id"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
    let mut seen = vec![];
    for _ in 0..4 {
        let v = body_json(
            fp(client().get(format!("{url}/{}", ids[0])))
                .send()
                .await
                .unwrap(),
        )
        .await;
        seen.push(v["data"]["status"].as_str().unwrap().to_string());
    }
    assert_eq!(seen, ["In Queue", "Processing", "Ready", "Ready"]);
    for id in &ids[1..] {
        for _ in 0..3 {
            fp(client().get(format!("{url}/{id}")))
                .send()
                .await
                .unwrap();
        }
        assert_eq!(f.fastpix.media_status(id).as_deref(), Some("Failed"));
    }
    let r = fp(client().get(format!("{url}/not-a-uuid")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    assert_eq!(body_json(r).await["error"]["fields"][0]["field"], "mediaId");
    let r = fp(client().get(format!("{url}/{}", uuid::Uuid::new_v4())))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
}

#[tokio::test]
async fn fastpix_resumable_session_answers_308_with_the_committed_range() {
    let f = fakes().await;
    let up = fp_upload(&f).await;
    let session = up["url"].as_str().unwrap();
    assert!(session.contains("upload_id="));
    let data: Vec<u8> = (0..(600 * 1024)).map(|i| (i % 251) as u8).collect();
    let total = data.len();
    let k = 256 * 1024;
    let put = |range: String, body: Vec<u8>| {
        client()
            .put(session)
            .header("content-range", range)
            .body(body)
            .send()
    };
    let r = put(format!("bytes */{total}"), vec![]).await.unwrap();
    assert_eq!(r.status().as_u16(), 308);
    assert!(!r.headers().contains_key("range"));

    let r = put(format!("bytes 0-{}/{total}", k - 1), data[..k].to_vec())
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 308);
    assert_eq!(r.headers()["range"], format!("bytes=0-{}", k - 1));

    // A gap is refused.
    let r = put(
        format!("bytes {}-{}/{total}", 2 * k, total - 1),
        data[2 * k..].to_vec(),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 400);
    // A non-final chunk that is not a 256 KiB multiple is refused.
    let r = put(
        format!("bytes {k}-{}/{total}", k + 99),
        data[k..k + 100].to_vec(),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 400);

    let r = put(format!("bytes */{total}"), vec![]).await.unwrap();
    assert_eq!(r.status().as_u16(), 308);
    assert_eq!(r.headers()["range"], format!("bytes=0-{}", k - 1));

    let r = put(
        format!("bytes {k}-{}/{total}", 2 * k - 1),
        data[k..2 * k].to_vec(),
    )
    .await
    .unwrap();
    assert_eq!(r.status().as_u16(), 308);
    let r = put(
        format!("bytes {}-{}/{total}", 2 * k, total - 1),
        data[2 * k..].to_vec(),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 200);
    let r = put(format!("bytes */{total}"), vec![]).await.unwrap();
    assert_eq!(r.status(), 200);

    let id = up["uploadId"].as_str().unwrap();
    assert_eq!(f.fastpix.object(id).unwrap().bytes, data);
    assert_eq!(f.fastpix.media_status(id).as_deref(), Some("Created"));
    let v = body_json(
        fp(client().get(format!("{}/on-demand/{id}", f.fastpix.api_url())))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(v["data"]["id"], id);
    let uploads = body_json(
        fp(client().get(format!("{}/on-demand/uploads", f.fastpix.api_url())))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(uploads["pagination"]["totalRecords"], 0);
}

#[tokio::test]
async fn fastpix_whole_body_put_creates_media_with_the_upload_id() {
    let f = fakes_with(|o| o.fastpix_processing_steps = 0).await;
    let up = fp_upload(&f).await;
    let session = up["url"].as_str().unwrap();
    let r = client()
        .put(session)
        .body(chunked(mp4()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 411);
    let r = client().put(session).body(mp4()).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let id = up["uploadId"].as_str().unwrap();
    assert_eq!(f.fastpix.media_status(id).as_deref(), Some("Ready"));
    assert_eq!(f.fastpix.object(session).unwrap().bytes, mp4());
    let del = format!("{}/on-demand/{id}", f.fastpix.api_url());
    let r = fp(client().delete(&del)).send().await.unwrap();
    assert_eq!(body_json(r).await, json!({"success": true}));
    assert_eq!(
        fp(client().delete(&del)).send().await.unwrap().status(),
        404
    );
    assert!(f.fastpix.objects().is_empty());
}

#[tokio::test]
async fn fastpix_cancelled_or_timed_out_sessions_reject_puts() {
    let f = fakes().await;
    let up = fp_upload(&f).await;
    let id = up["uploadId"].as_str().unwrap();
    let r = fp(client().put(format!(
        "{}/on-demand/upload/{id}/cancel",
        f.fastpix.api_url()
    )))
    .send()
    .await
    .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(body_json(r).await["data"]["status"], "cancelled");
    let r = client()
        .put(up["url"].as_str().unwrap())
        .body(mp4())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 410);

    let up = fp_upload(&f).await;
    f.fastpix.advance_clock(Duration::from_secs(14_401));
    let r = client()
        .put(up["url"].as_str().unwrap())
        .body(mp4())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 410);
    // The expired upload lingers in the list until cancelled.
    let v = body_json(
        fp(client().get(format!("{}/on-demand/uploads", f.fastpix.api_url())))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(v["pagination"]["totalRecords"], 1);
}

#[tokio::test]
async fn fastpix_lists_paginate_by_page_number_and_validate_limit() {
    let f = fakes().await;
    let url = format!("{}/on-demand", f.fastpix.api_url());
    for _ in 0..3 {
        fp(client().post(&url))
            .json(&json!({"inputs": [{"type": "video", "url": "https://example.com/a.mp4"}]}))
            .send()
            .await
            .unwrap();
    }
    let r = fp(client().get(&url))
        .query(&[("limit", "51")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    let v = body_json(
        fp(client().get(&url))
            .query(&[("limit", "2"), ("offset", "2")])
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(v["data"].as_array().unwrap().len(), 1);
    assert_eq!(
        v["pagination"],
        json!({"totalRecords": 3, "currentOffset": 2, "offsetCount": 2})
    );
}

// -------------------------------------------------------------------- Faults

#[tokio::test]
async fn reset_mid_body_gives_the_client_an_io_error_and_stores_nothing() {
    let f = fakes().await;
    let v = sp_presign(&f, "a.png", "image/png").await;
    let up = v["upload_url"].as_str().unwrap();
    f.synposter
        .push_fault(Fault::new("/storage/", FaultKind::ResetMidBody).method("PUT"));
    let res = client()
        .put(up)
        .header("content-type", "image/png")
        .body(vec![9u8; 4_000_000])
        .send()
        .await;
    let e = res.expect_err("no HTTP status may come back");
    assert!(!e.is_status());
    assert!(f.synposter.objects().is_empty());
    let log = f.synposter.requests();
    assert_eq!(log.last().unwrap().status, 0);
    // The fault is used up: the retry works.
    let r = client()
        .put(up)
        .header("content-type", "image/png")
        .body(vec![9u8; 4_000_000])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn drop_response_stores_the_object_but_the_client_sees_an_error() {
    let f = fakes().await;
    f.postsyncer
        .push_fault(Fault::new("/media/upload/file", FaultKind::DropResponse));
    let url = format!("{}/media/upload/file", f.postsyncer.upload_url().unwrap());
    let res = ps_auth(client().post(url))
        .multipart(file_form("7", "a.jpg", jpeg()))
        .send()
        .await;
    assert!(res.is_err());
    assert_eq!(f.postsyncer.objects().len(), 1);
}

#[tokio::test]
async fn store_then_status_keeps_the_object_and_answers_the_gateways_status() {
    let f = fakes().await;
    f.postsyncer.push_fault(Fault::new(
        "/media/upload/file",
        FaultKind::StoreThenStatus(504),
    ));
    let url = format!("{}/media/upload/file", f.postsyncer.upload_url().unwrap());
    let r = ps_auth(client().post(url))
        .multipart(file_form("7", "a.jpg", jpeg()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 504);
    assert!(
        body_json(r).await["message"].is_string(),
        "PostSyncer's envelope"
    );
    assert_eq!(f.postsyncer.objects().len(), 1, "stored all the same");
}

#[tokio::test]
async fn store_then_stall_keeps_the_object_and_never_answers() {
    let f = fakes().await;
    f.postsyncer
        .push_fault(Fault::new("/media/upload/file", FaultKind::StoreThenStall));
    let url = format!("{}/media/upload/file", f.postsyncer.upload_url().unwrap());
    let sent = ps_auth(client().post(url))
        .multipart(file_form("7", "a.jpg", jpeg()))
        .timeout(Duration::from_millis(800))
        .send()
        .await;
    assert!(sent.unwrap_err().is_timeout(), "no answer came");
    assert_eq!(f.postsyncer.objects().len(), 1);
}

#[tokio::test]
async fn status_and_rate_limited_faults_use_each_apis_envelope() {
    let f = fakes().await;
    f.socialsyncer
        .push_fault(Fault::new("/media/presign", FaultKind::Status(500)).times(2));
    for _ in 0..2 {
        let r = ss_presign(&f, "a.jpg", "image/jpeg").await;
        assert_eq!(r.status(), 500);
        assert_eq!(
            body_json(r).await,
            json!({"error": "Internal server error", "code": "INTERNAL_ERROR"})
        );
    }
    assert_eq!(ss_presign(&f, "a.jpg", "image/jpeg").await.status(), 200);

    f.fastpix
        .push_fault(Fault::new("/on-demand", FaultKind::Status(503)).method("GET"));
    let r = fp(client().get(format!("{}/on-demand", f.fastpix.api_url())))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(body_json(r).await["error"]["code"], 503);

    f.postsyncer.push_fault(Fault::new(
        "/workspaces",
        FaultKind::RateLimited {
            retry_after_secs: 7,
        },
    ));
    let r = ps_auth(client().get(format!("{}/workspaces", f.postsyncer.api_url())))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 429);
    assert_eq!(r.headers()["retry-after"], "7");
    assert_eq!(r.headers()["x-ratelimit-remaining"], "0");
}

#[tokio::test]
async fn delay_fault_holds_the_answer_back() {
    let f = fakes().await;
    f.synposter.push_fault(Fault::new(
        "/health",
        FaultKind::Delay(Duration::from_millis(300)),
    ));
    let t = std::time::Instant::now();
    let r = client()
        .get(format!("{}/health", f.synposter.api_url()))
        .header("x-api-key", SYNPOSTER_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(t.elapsed() >= Duration::from_millis(300));
}

#[tokio::test]
async fn discard_bytes_keeps_only_size_and_ends() {
    let f = fakes_with(|o| o.discard_bytes = true).await;
    let v = body_json(ss_presign(&f, "a.jpg", "image/jpeg").await).await;
    let data: Vec<u8> = (0..100_000u32).map(|i| (i % 200) as u8).collect();
    client()
        .put(v["uploadUrl"].as_str().unwrap())
        .header("content-type", "image/jpeg")
        .body(data.clone())
        .send()
        .await
        .unwrap();
    let o = f.socialsyncer.objects().pop().unwrap();
    assert!(o.bytes.is_empty());
    assert_eq!(o.size, 100_000);
    assert_eq!(o.head, data[..64]);
    assert_eq!(o.tail, data[data.len() - 64..]);
}

// ------------------------------------------------------------ Origin, binary

#[tokio::test]
async fn origin_serves_chunked_bodies_redirects_and_404s() {
    let f = fakes().await;
    f.origin.serve_with(
        "/c.bin",
        vec![5u8; 50_000],
        OriginOpts {
            content_length: false,
            ..OriginOpts::default()
        },
    );
    let r = client().get(f.origin.url("/c.bin")).send().await.unwrap();
    assert!(!r.headers().contains_key("content-length"));
    assert_eq!(r.bytes().await.unwrap().len(), 50_000);
    assert_eq!(
        client()
            .get(f.origin.url("/x"))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    assert!(f.origin.base_url().starts_with("http://127.0.0.1:"));
}

#[tokio::test]
async fn origin_honours_bounded_ranges_cuts_once_and_redirects_any_method() {
    let f = fakes().await;
    let data: Vec<u8> = (0..100u8).collect();
    f.origin.serve_with(
        "/r.bin",
        data.clone(),
        OriginOpts {
            ranges: true,
            cut_once_after: Some(30),
            ..OriginOpts::default()
        },
    );
    // The first answer is cut short (so short here that it may break before its head).
    match client().get(f.origin.url("/r.bin")).send().await {
        Ok(first) => assert!(first.bytes().await.is_err(), "cut off"),
        Err(e) => assert!(!e.is_timeout(), "cut off: {e}"),
    }
    let r = client()
        .get(f.origin.url("/r.bin"))
        .header("range", "bytes=10-19")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 206);
    assert_eq!(r.headers()["content-range"], "bytes 10-19/100");
    assert_eq!(r.bytes().await.unwrap().to_vec(), data[10..20].to_vec());
    let r = client()
        .get(f.origin.url("/r.bin"))
        .header("range", "bytes=200-300")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 416);
    // An origin that ignores Range answers the whole body.
    f.origin
        .serve("/plain.bin", data.clone(), "application/octet-stream");
    let r = client()
        .get(f.origin.url("/plain.bin"))
        .header("range", "bytes=10-19")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.bytes().await.unwrap().len(), 100);
    // A redirect answers POST too, with the status asked, to another host.
    let other = ferry_fakes::origin::start().await;
    f.origin.serve_with(
        "/api",
        vec![],
        OriginOpts {
            redirect_to: Some(other.url("/api")),
            redirect_status: 307,
            ..OriginOpts::default()
        },
    );
    let no_follow = Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let r = no_follow.post(f.origin.url("/api")).send().await.unwrap();
    assert_eq!(r.status(), 307);
    assert_eq!(r.headers()["location"], other.url("/api").as_str());
}

#[test]
fn the_binary_prints_its_endpoints_as_one_json_line() {
    use std::io::BufRead;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_ferry-fakes"))
        .arg("--print-endpoints")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let _ = child.kill();
    let _ = child.wait();
    let v: Value = serde_json::from_str(&line).unwrap();
    assert!(v["postsyncer"]["upload_url"]
        .as_str()
        .unwrap()
        .starts_with("http://127.0.0.1:"));
    assert_eq!(v["postsyncer"]["workspace_id"], 7);
    assert_eq!(v["synposter"]["api_key"], SYNPOSTER_KEY);
    assert!(v["origin"]["base_url"].is_string());
}

#[tokio::test]
async fn origin_generates_n_bytes_that_agree_across_ranges() {
    let f = fakes().await;
    let url = f.origin.url("/bytes/3000000.mp4");
    let whole = client().get(&url).send().await.unwrap();
    assert_eq!(whole.status(), 200);
    assert_eq!(whole.content_length(), Some(3_000_000));
    let whole = whole.bytes().await.unwrap();
    assert_eq!(whole.len(), 3_000_000);
    assert_eq!(&whole[4..8], b"ftyp");
    let part = client()
        .get(&url)
        .header("range", "bytes=10-2100000")
        .send()
        .await
        .unwrap();
    assert_eq!(part.status(), 206);
    assert_eq!(
        part.headers()["content-range"].to_str().unwrap(),
        "bytes 10-2100000/3000000"
    );
    assert_eq!(part.bytes().await.unwrap(), whole.slice(10..=2_100_000));
}
