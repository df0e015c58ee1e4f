//! URL imports: which URLs are acceptable, and fetch-and-forward for destinations without
//! an import API — the download streams into the upload without being held in memory,
//! spilling to a temp file only when its length is unknown. A spill is bounded by a
//! size cap and a free-space floor on its disk ([`SpoolLimits`], from config.toml's
//! `[settings]`), and a dead process's leftovers are removed by [`remove_leftovers`].
//!
//! Not for provider routes or bodies: those live in `providers/`.

use std::path::{Path, PathBuf};

use bytes::{Bytes, BytesMut};
use futures_util::{StreamExt, TryStreamExt};

use crate::error::{Code, Error, Result};
use crate::media;
use crate::providers::Upload;
use crate::transfer::{ByteStream, Source};

pub const MAX_URL_LEN: usize = 2048;

/// Accept only http(s) URLs of at most 2048 characters with a host.
pub fn validate_url(input: &str) -> Result<url::Url> {
    let s = input.trim();
    let bad = |why: &str| {
        Error::new(
            Code::InputInvalidUrl,
            format!("`{}` cannot be imported: {why}", shorten(s)),
        )
    };
    if s.len() > MAX_URL_LEN {
        return Err(bad(&format!(
            "it is {} characters long; the limit is {MAX_URL_LEN}",
            s.len()
        )));
    }
    let url = url::Url::parse(s).map_err(|e| bad(&format!("it is not a valid URL ({e})")))?;
    match url.scheme() {
        "http" | "https" => {}
        other => {
            return Err(bad(&format!(
                "only http:// and https:// links can be imported, not {other}:"
            )))
        }
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(bad("it has no host"));
    }
    Ok(url)
}

fn shorten(s: &str) -> String {
    if s.chars().count() > 80 {
        format!("{}…", s.chars().take(80).collect::<String>())
    } else {
        s.to_string()
    }
}

/// The file name a download should get: Content-Disposition first, then the last path
/// segment of the final URL (after redirects), else "download".
pub fn name_for(disposition: Option<&str>, final_url: &url::Url) -> String {
    if let Some(d) = disposition {
        if let Some(n) = disposition_filename(d) {
            return n;
        }
    }
    final_url
        .path_segments()
        .and_then(|mut s| s.next_back())
        .map(|seg| {
            percent_encoding::percent_decode_str(seg)
                .decode_utf8_lossy()
                .into_owned()
        })
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "download".to_string())
}

fn disposition_filename(d: &str) -> Option<String> {
    let mut plain = None;
    for part in d.split(';').map(str::trim) {
        let lower = part.to_ascii_lowercase();
        if let Some(v) = lower.strip_prefix("filename*=").map(|_| &part[10..]) {
            // RFC 5987: charset'lang'percent-encoded
            let enc = v.splitn(3, '\'').nth(2).unwrap_or(v);
            let decoded = percent_encoding::percent_decode_str(enc.trim_matches('"'))
                .decode_utf8_lossy()
                .into_owned();
            if !decoded.is_empty() {
                return Some(decoded);
            }
        } else if lower.starts_with("filename=") {
            plain = Some(part[9..].trim_matches('"').to_string()).filter(|s| !s.is_empty());
        }
    }
    plain
}

/// Prefix of spill files in the spool folder.
const SPILL_PREFIX: &str = ".ferry-download-";
/// How often (in bytes written) a spill looks at the disk's free space again.
const FREE_CHECK_EVERY: u64 = 16 * 1024 * 1024;

/// Bounds of a spill to disk (a download whose server did not say its length).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpoolLimits {
    /// At most this many bytes are kept (config: `spool_max_bytes`, 8 GiB).
    pub max_bytes: u64,
    /// Stop before the disk would have less than this free (config:
    /// `spool_keep_free_bytes`, 1 GiB).
    pub keep_free: u64,
}

impl Default for SpoolLimits {
    fn default() -> Self {
        SpoolLimits::from_settings(&crate::config::Settings::default())
    }
}

impl SpoolLimits {
    pub fn from_settings(s: &crate::config::Settings) -> Self {
        SpoolLimits {
            max_bytes: s.spool_max_bytes,
            keep_free: s.spool_keep_free_bytes,
        }
    }
}

/// [`fetch_with`] with the default [`SpoolLimits`].
pub async fn fetch(
    http: &reqwest::Client,
    url: &url::Url,
    spill_dir: &std::path::Path,
    max_bytes: Option<u64>,
) -> Result<(Upload, Option<tempfile::TempPath>)> {
    fetch_with(http, url, spill_dir, max_bytes, SpoolLimits::default()).await
}

/// Open a URL and get ready to forward it: sniff its first bytes (refusing web pages),
/// name it, and know its length — spilling to `spill_dir` only when the server did not
/// say, within `spool`. `max_bytes` stops a download early when the destination would
/// refuse it anyway. A spill that fails is removed.
pub async fn fetch_with(
    http: &reqwest::Client,
    url: &url::Url,
    spill_dir: &std::path::Path,
    max_bytes: Option<u64>,
    spool: SpoolLimits,
) -> Result<(Upload, Option<tempfile::TempPath>)> {
    let resp = http
        .get(url.clone())
        .send()
        .await
        .map_err(|e| Error::from_reqwest(e, false).context(format!("fetching {url}")))?;
    let status = resp.status();
    if !status.is_success() {
        return Err(Error::new(
            if status.as_u16() == 404 {
                Code::InputNotFound
            } else {
                Code::ProviderRejected
            },
            format!("fetching {url} failed: the server answered {status}"),
        )
        .with_status(status.as_u16()));
    }
    let final_url = resp.url().clone();
    let disposition = resp
        .headers()
        .get(reqwest::header::CONTENT_DISPOSITION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let declared_html = resp
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.to_ascii_lowercase().starts_with("text/html"));
    let length = resp.content_length();
    // Without the URL: a broken download's error ends up in messages and logs, and the
    // URL may be a tokened link.
    let mut stream: ByteStream = Box::pin(
        resp.bytes_stream()
            .map_err(|e| std::io::Error::other(e.without_url())),
    );

    // Read just enough to know what this is.
    let mut head = BytesMut::new();
    while head.len() < media::SNIFF_LEN {
        match stream.next().await {
            Some(chunk) => head.extend_from_slice(
                &chunk
                    .map_err(|e| Error::new(Code::NetworkReset, format!("fetching {url}: {e}")))?,
            ),
            None => break,
        }
    }
    let head = head.freeze();
    let mime = media::sniff(&head);
    if mime == "text/html" || (declared_html && mime == "application/octet-stream") {
        return Err(Error::new(
            Code::InputHtmlPage,
            format!(
                "{url} is a web page, not an image or video file; use the direct link to the file \
                 (for example \"Copy image address\"), or a share link set to download"
            ),
        ));
    }
    let mut name = name_for(disposition.as_deref(), &final_url);
    if !name.contains('.') {
        if let Some(ext) = media::extension_for(&mime) {
            name = format!("{name}.{ext}");
        }
    }
    let too_big = |size: u64| {
        max_bytes.is_some_and(|m| size > m).then(|| {
            Error::new(
                Code::LimitTooLarge,
                format!(
                    "{url} is {}, more than the destination accepts ({})",
                    media::human_bytes(size),
                    media::human_bytes(max_bytes.unwrap_or_default())
                ),
            )
        })
    };
    let rest =
        futures_util::stream::once(async move { Ok::<Bytes, std::io::Error>(head) }).chain(stream);
    match length {
        Some(size) => {
            if let Some(e) = too_big(size) {
                return Err(e);
            }
            let upload = Upload {
                api_name: media::sanitize_filename(&name),
                name,
                mime,
                size,
                source: Source::remote(final_url, http.clone(), Box::pin(rest)),
                naming: naming_of(url),
            };
            Ok((upload, None))
        }
        None => {
            // Unknown length: every destination needs one (no chunked bodies), so keep
            // the bytes in a temp file first — bounded by the destination's limit.
            std::fs::create_dir_all(spill_dir).map_err(|e| Error::io(e, spill_dir.display()))?;
            check_free(spill_dir, 0, spool.keep_free, url)?;
            // Dropped on any early return, which removes the partial file.
            let tmp = tempfile::Builder::new()
                .prefix(SPILL_PREFIX)
                .tempfile_in(spill_dir)
                .map_err(|e| Error::io(e, spill_dir.display()))?;
            let mut out = tokio::fs::File::from_std(
                tmp.reopen()
                    .map_err(|e| Error::io(e, tmp.path().display()))?,
            );
            let mut size = 0u64;
            let mut checked_at = 0u64;
            let mut rest = Box::pin(rest);
            while let Some(chunk) = rest.next().await {
                let chunk = chunk
                    .map_err(|e| Error::new(Code::NetworkReset, format!("fetching {url}: {e}")))?;
                size += chunk.len() as u64;
                if let Some(e) = too_big(size) {
                    return Err(e);
                }
                if size > spool.max_bytes {
                    return Err(Error::new(
                        Code::LimitTooLarge,
                        format!(
                            "{url} did not say its size, so Ferry keeps it on disk before sending it, \
                             and it is larger than the {} allowed for that (spool_max_bytes in \
                             config.toml [settings]); raise that limit, or use a link whose server \
                             states the size",
                            media::human_bytes(spool.max_bytes)
                        ),
                    ));
                }
                if size - checked_at >= FREE_CHECK_EVERY {
                    check_free(spill_dir, FREE_CHECK_EVERY, spool.keep_free, url)?;
                    checked_at = size;
                }
                tokio::io::AsyncWriteExt::write_all(&mut out, &chunk).await?;
            }
            tokio::io::AsyncWriteExt::flush(&mut out).await?;
            drop(out);
            let path = tmp.into_temp_path();
            let meta = std::fs::metadata(&path).map_err(|e| Error::io(e, path.display()))?;
            let upload = Upload {
                api_name: media::sanitize_filename(&name),
                name,
                mime,
                size,
                source: Source::file(path.to_path_buf(), &meta),
                naming: naming_of(url),
            };
            Ok((upload, Some(path)))
        }
    }
}

/// What a name template gets for a URL import: its bytes are sent as they download, so
/// their hash comes too late for `{hash8}`; the URL's (without its query, which may be a
/// credential) stands in. No watch rule imports URLs.
fn naming_of(url: &url::Url) -> crate::providers::Naming {
    let mut bare = url.clone();
    bare.set_query(None);
    crate::providers::Naming {
        hash: Some(crate::naming::Facts::hash_of_url(bare.as_str())),
        rule: None,
    }
}

/// Fail when writing `more` bytes into `dir` would leave less than `keep_free` free on
/// its disk. A disk whose free space cannot be read is not refused.
fn check_free(dir: &Path, more: u64, keep_free: u64, url: &url::Url) -> Result<()> {
    let Some(free) = available_bytes(dir) else {
        return Ok(());
    };
    if free.saturating_sub(more) >= keep_free {
        return Ok(());
    }
    Err(Error::new(
        Code::DiskFull,
        format!(
            "{url} did not say its size, so Ferry keeps it on disk before sending it, but the \
             disk of {} has only {} free and Ferry keeps at least {} free \
             (spool_keep_free_bytes in config.toml [settings]); free some space, or lower \
             that setting",
            dir.display(),
            media::human_bytes(free),
            media::human_bytes(keep_free)
        ),
    ))
}

/// Bytes available to this user on the disk holding `dir`.
#[cfg(unix)]
pub(crate) fn available_bytes(dir: &Path) -> Option<u64> {
    let st = rustix::fs::statvfs(dir).ok()?;
    Some(st.f_bavail.saturating_mul(st.f_frsize))
}

/// Bytes available to this user on the disk holding `dir`.
#[cfg(windows)]
pub(crate) fn available_bytes(dir: &Path) -> Option<u64> {
    use std::os::windows::ffi::OsStrExt;
    // kernel32 is linked into every Windows program; declaring the one documented
    // function here needs no crate (and no crate features to keep in step).
    #[link(name = "kernel32")]
    extern "system" {
        fn GetDiskFreeSpaceExW(
            directory_name: *const u16,
            free_bytes_available_to_caller: *mut u64,
            total_number_of_bytes: *mut u64,
            total_number_of_free_bytes: *mut u64,
        ) -> i32;
    }
    let wide: Vec<u16> = dir.as_os_str().encode_wide().chain(Some(0)).collect();
    let mut free: u64 = 0;
    // SAFETY: `wide` is a NUL-terminated UTF-16 path that outlives the call; the
    // out-pointer is a valid u64; the two totals we do not need may be null.
    let ok = unsafe {
        GetDiskFreeSpaceExW(
            wide.as_ptr(),
            &mut free,
            std::ptr::null_mut(),
            std::ptr::null_mut(),
        )
    };
    (ok != 0).then_some(free)
}

#[cfg(not(any(unix, windows)))]
pub(crate) fn available_bytes(_dir: &Path) -> Option<u64> {
    None
}

/// Remove what a process that died mid-transfer left behind in `data_dir`: spill files
/// in `spool/` and the local library's `.part` temp files. Only the process that owns
/// the home (the queue runner, holding its lock) may call this, at start: another live
/// process's files would look the same. Returns what was removed.
pub fn remove_leftovers(data_dir: &Path) -> Result<Vec<PathBuf>> {
    let mut removed = Vec::new();
    let spool = data_dir.join("spool");
    for entry in read_dir_or_empty(&spool)? {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with(SPILL_PREFIX) && entry.file_type().is_ok_and(|t| t.is_file()) {
            std::fs::remove_file(&path).map_err(|e| Error::io(e, path.display()))?;
            removed.push(path);
        }
    }
    removed.extend(remove_part_files(&data_dir.join("library"))?);
    // Thumbnails being fetched from an item's link (the desktop's cache).
    for entry in read_dir_or_empty(&data_dir.join("thumbs"))? {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with(".fetch-") && entry.file_type().is_ok_and(|t| t.is_file()) {
            let path = entry.path();
            std::fs::remove_file(&path).map_err(|e| Error::io(e, path.display()))?;
            removed.push(path);
        }
    }
    Ok(removed)
}

/// Half-written `.ferry-*.part` files of a local library folder (any account's `dir`).
pub fn remove_part_files(library: &Path) -> Result<Vec<PathBuf>> {
    let mut removed = Vec::new();
    // The local library writes `.ferry-*.part` beside its `YYYY/MM` folders; walk a few
    // levels only (it is not a tree of arbitrary depth).
    let mut dirs = vec![(library.to_path_buf(), 0)];
    while let Some((dir, depth)) = dirs.pop() {
        for entry in read_dir_or_empty(&dir)? {
            let path = entry.path();
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            let name = entry.file_name().to_string_lossy().into_owned();
            if kind.is_dir() && depth < 3 {
                dirs.push((path, depth + 1));
            } else if kind.is_file() && name.starts_with(".ferry-") && name.ends_with(".part") {
                std::fs::remove_file(&path).map_err(|e| Error::io(e, path.display()))?;
                removed.push(path);
            }
        }
    }
    Ok(removed)
}

fn read_dir_or_empty(dir: &Path) -> Result<Vec<std::fs::DirEntry>> {
    match std::fs::read_dir(dir) {
        Ok(rd) => Ok(rd.flatten().collect()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(Error::io(e, dir.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leftover_spill_and_part_files_of_a_dead_process_are_removed_and_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path();
        let write = |rel: &str| {
            let p = data.join(rel);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(&p, b"x").unwrap();
            p
        };
        let spill = write("spool/.ferry-download-a1b2c3");
        let part = write("library/2026/12/.ferry-x9y8.part");
        let fetch = write("thumbs/.fetch-q1w2e3");
        let keep = [
            write("thumbs/42.png"),
            write("spool/notes.txt"),
            write("library/2026/12/photo.png"),
            write("library/2026/12/holiday.part"),
            write("ferry.db"),
        ];
        let mut removed = remove_leftovers(data).unwrap();
        removed.sort();
        let mut want = vec![spill.clone(), part.clone(), fetch.clone()];
        want.sort();
        assert_eq!(removed, want);
        assert!(!spill.exists() && !part.exists() && !fetch.exists());
        for k in keep {
            assert!(k.exists(), "{} kept", k.display());
        }
        // A home that has neither folder yet is fine.
        let empty = tempfile::tempdir().unwrap();
        assert!(remove_leftovers(empty.path()).unwrap().is_empty());
    }

    #[test]
    fn the_free_space_of_a_real_disk_can_be_read() {
        let dir = tempfile::tempdir().unwrap();
        assert!(available_bytes(dir.path()).is_some_and(|n| n > 0));
    }

    #[test]
    fn only_http_urls_of_sane_length_are_accepted() {
        assert!(validate_url("https://example.com/a.jpg").is_ok());
        for bad in [
            "file:///etc/passwd",
            "javascript:alert(1)",
            "data:image/png;base64,AAAA",
            "ftp://x/y",
            "not a url",
            "http://",
        ] {
            let e = validate_url(bad).unwrap_err();
            assert_eq!(e.code, Code::InputInvalidUrl, "{bad}");
        }
        let long = format!("https://example.com/{}", "a".repeat(2100));
        assert!(validate_url(&long).unwrap_err().message.contains("2048"));
    }

    #[test]
    fn names_come_from_disposition_then_path() {
        let u = url::Url::parse("https://x.test/dir/caf%C3%A9.jpg?sig=1").unwrap();
        assert_eq!(name_for(None, &u), "café.jpg");
        assert_eq!(
            name_for(Some("attachment; filename=\"a b.png\""), &u),
            "a b.png"
        );
        assert_eq!(
            name_for(Some("attachment; filename*=UTF-8''%C3%A9t%C3%A9.mp4"), &u),
            "été.mp4"
        );
        let root = url::Url::parse("https://x.test/").unwrap();
        assert_eq!(name_for(None, &root), "download");
    }
}
