//! Thumbnails of library images: decoded from the file Ferry sent (its source path, or the
//! local library's copy), shrunk to a small tile, written into a cache folder the
//! host names, and recorded on the library item.
//!
//! Hosts decide where the cache lives and how it is served (the desktop serves it through
//! its asset protocol, scoped to that folder only). The only remote fetch is an item's own
//! link when it has no file on this computer (an image imported from a URL straight to a
//! remote destination), capped in size, and only from public internet addresses (see
//! [`crate::public_net`]); nothing but derived pixels is kept.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use crate::error::{Code, Error, Result};
use crate::library::{Filter, ItemStatus, Library, LibraryItem};

/// Shorter side of a thumbnail, in pixels: 2× the desktop's 48 px tile (cropped to a
/// square there), for HiDPI screens. Kept this small on purpose: the webview holds every
/// shown thumbnail decoded (200 rows of 320 px thumbnails cost it ~50 MiB, 96 px ~7 MiB).
pub const SHORT_SIDE: u32 = 96;
/// Longer side at most (panoramas and tall strips), in pixels.
pub const LONG_SIDE: u32 = 192;
/// Larger sources are skipped: decoding them would cost more memory than a thumbnail is
/// worth.
const MAX_SOURCE_BYTES: u64 = 64 * 1024 * 1024;
/// Decoder allocation cap: a small file can still claim a huge canvas.
const MAX_DECODE_ALLOC: u64 = 512 * 1024 * 1024;
/// Largest image fetched from an item's link to make its thumbnail.
pub const MAX_REMOTE_BYTES: u64 = 20 * 1024 * 1024;
/// How long fetching one remote image may take.
const REMOTE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// The local file a thumbnail can be made from, if there is one: the path it was sent
/// from, else the local library's own copy (a `file://` URL). A `file://` link from any
/// other provider is a remote API's answer, not a file Ferry put here: never read.
pub fn source_of(item: &LibraryItem) -> Option<PathBuf> {
    let from_source = item
        .source
        .as_deref()
        .map(PathBuf::from)
        .filter(|p| p.is_absolute() && p.is_file());
    from_source.or_else(|| {
        if item.provider != crate::Kind::Local {
            return None;
        }
        item.url
            .as_deref()
            .and_then(|u| url::Url::parse(u).ok())
            .filter(|u| u.scheme() == "file")
            .and_then(|u| u.to_file_path().ok())
            .filter(|p| p.is_file())
    })
}

/// The link a thumbnail can be fetched from: an image with no file on this computer (it was
/// imported from a URL to a remote destination) whose own link is http(s), not known to be
/// larger than [`MAX_REMOTE_BYTES`].
pub fn remote_source(item: &LibraryItem) -> Option<url::Url> {
    if !wants_thumbnail(item) || source_of(item).is_some() {
        return None;
    }
    if item.size.is_some_and(|s| s > MAX_REMOTE_BYTES) {
        return None;
    }
    let url = url::Url::parse(item.url.as_deref()?).ok()?;
    matches!(url.scheme(), "http" | "https").then_some(url)
}

/// Fetch `item`'s image from its own link (see [`remote_source`]) into a temp file in
/// `cache`, make its thumbnail and record it. The body is read with a running cap, so a
/// wrong Content-Length cannot make it larger than [`MAX_REMOTE_BYTES`]. The link came from
/// a provider, not from the person: it is fetched only from a public address.
pub async fn fetch_remote(
    library: &Library,
    item: &LibraryItem,
    cache: &Path,
    http: &crate::public_net::Background,
) -> Result<PathBuf> {
    use std::io::Write;
    let url = remote_source(item).ok_or_else(|| {
        Error::new(
            Code::InputInvalid,
            format!("{} has no link to make a thumbnail from", item.name),
        )
    })?;
    let mut resp = http
        .get(url, REMOTE_TIMEOUT)
        .await
        .map_err(|e| e.context(&item.name))?;
    if !resp.status().is_success() {
        return Err(Error::new(
            crate::providers::http::code_for_status(resp.status()),
            format!("{}: its link answered {}", item.name, resp.status()),
        ));
    }
    let too_large = || {
        Error::new(
            Code::LimitTooLarge,
            format!("{} is too large to fetch for a thumbnail", item.name),
        )
    };
    if resp.content_length().is_some_and(|n| n > MAX_REMOTE_BYTES) {
        return Err(too_large());
    }
    std::fs::create_dir_all(cache).map_err(|e| Error::io(e, cache.display()))?;
    let mut tmp = tempfile::Builder::new()
        .prefix(".fetch-")
        .tempfile_in(cache)
        .map_err(|e| Error::io(e, cache.display()))?;
    let mut got: u64 = 0;
    while let Some(chunk) = resp
        .chunk()
        .await
        .map_err(|e| Error::from_reqwest(e, false))?
    {
        got += chunk.len() as u64;
        if got > MAX_REMOTE_BYTES {
            return Err(too_large());
        }
        tmp.write_all(&chunk)
            .map_err(|e| Error::io(e, tmp.path().display()))?;
    }
    let (src, cache_dir, key) = (
        tmp.into_temp_path(),
        cache.to_path_buf(),
        item.id.to_string(),
    );
    // Decoding is CPU work: off the async workers. The temp file goes when `src` drops.
    let path = tokio::task::spawn_blocking(move || generate(&src, &cache_dir, &key))
        .await
        .map_err(|e| Error::new(Code::Io, format!("thumbnail: {e}")))??;
    library.set_thumbnail(item.id, &path.to_string_lossy())?;
    Ok(path)
}

/// The newest `limit` library images that lack a thumbnail and can get one only from their
/// link (see [`remote_source`]), leaving out those in `skip`.
pub fn remote_candidates(
    library: &Library,
    limit: usize,
    skip: &HashSet<i64>,
) -> Result<Vec<LibraryItem>> {
    let items = library.list(&Filter {
        limit: Some(limit),
        ..Filter::default()
    })?;
    Ok(items
        .into_iter()
        .filter(|i| !skip.contains(&i.id))
        .filter(|i| {
            !i.thumbnail
                .as_deref()
                .is_some_and(|t| Path::new(t).is_file())
        })
        .filter(|i| remote_source(i).is_some())
        .collect())
}

/// Whether an item is an image Ferry can show a thumbnail of.
pub fn wants_thumbnail(item: &LibraryItem) -> bool {
    item.mime_type
        .as_deref()
        .is_some_and(|m| m.starts_with("image/"))
        && !matches!(item.status, ItemStatus::Deleted | ItemStatus::Failed)
}

/// Make the thumbnail of `src` as `cache/<key>.png` (with alpha) or `.jpg`, atomically.
pub fn generate(src: &Path, cache: &Path, key: &str) -> Result<PathBuf> {
    let size = std::fs::metadata(src)
        .map_err(|e| Error::io(e, src.display()))?
        .len();
    if size > MAX_SOURCE_BYTES {
        return Err(Error::new(
            Code::LimitTooLarge,
            format!("{} is too large to make a thumbnail of", src.display()),
        ));
    }
    let mut reader = image::ImageReader::open(src)
        .map_err(|e| Error::io(e, src.display()))?
        .with_guessed_format()
        .map_err(|e| Error::io(e, src.display()))?;
    let mut limits = image::Limits::default();
    limits.max_alloc = Some(MAX_DECODE_ALLOC);
    reader.limits(limits);
    let img = reader.decode().map_err(|e| {
        Error::new(
            Code::InputUnsupportedType,
            format!("{}: cannot decode for a thumbnail: {e}", src.display()),
        )
    })?;
    // Fit a landscape box for landscape images and a portrait one for portraits, so the
    // shorter side comes out at SHORT_SIDE unless the image is longer than 2:1.
    let thumb = if img.width() >= img.height() {
        img.thumbnail(LONG_SIDE, SHORT_SIDE)
    } else {
        img.thumbnail(SHORT_SIDE, LONG_SIDE)
    };
    std::fs::create_dir_all(cache).map_err(|e| Error::io(e, cache.display()))?;
    let (ext, format) = if thumb.color().has_alpha() {
        ("png", image::ImageFormat::Png)
    } else {
        ("jpg", image::ImageFormat::Jpeg)
    };
    let thumb = if format == image::ImageFormat::Jpeg {
        image::DynamicImage::ImageRgb8(thumb.to_rgb8())
    } else {
        thumb
    };
    let dest = cache.join(format!("{key}.{ext}"));
    let tmp = tempfile::NamedTempFile::new_in(cache).map_err(|e| Error::io(e, cache.display()))?;
    thumb
        .save_with_format(tmp.path(), format)
        .map_err(|e| Error::new(Code::Io, format!("{}: {e}", dest.display())))?;
    tmp.persist(&dest)
        .map_err(|e| Error::io(e.error, dest.display()))?;
    Ok(dest)
}

/// Give the newest `limit` library images a thumbnail where they lack one (or its file is
/// gone from the cache). Items in `skip` are left alone; items that cannot get one are
/// added to it, so a broken file is tried once per process. Returns how many were made.
pub fn fill_missing(
    library: &Library,
    cache: &Path,
    limit: usize,
    skip: &mut HashSet<i64>,
) -> Result<usize> {
    let items = library.list(&Filter {
        limit: Some(limit),
        ..Filter::default()
    })?;
    let mut made = 0;
    for item in items {
        let present = item
            .thumbnail
            .as_deref()
            .is_some_and(|t| Path::new(t).is_file());
        if present || skip.contains(&item.id) || !wants_thumbnail(&item) {
            continue;
        }
        let Some(src) = source_of(&item) else {
            skip.insert(item.id);
            continue;
        };
        match generate(&src, cache, &item.id.to_string()) {
            Ok(path) => {
                library.set_thumbnail(item.id, &path.to_string_lossy())?;
                made += 1;
            }
            Err(e) => {
                tracing::debug!("no thumbnail for library item {}: {}", item.id, e.message);
                skip.insert(item.id);
            }
        }
    }
    Ok(made)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write_png(path: &Path, w: u32, h: u32, alpha: bool) {
        if alpha {
            image::RgbaImage::from_pixel(w, h, image::Rgba([10, 20, 30, 128]))
                .save(path)
                .unwrap();
        } else {
            image::RgbImage::from_pixel(w, h, image::Rgb([10, 20, 30]))
                .save(path)
                .unwrap();
        }
    }

    #[test]
    fn only_the_local_librarys_file_links_count_as_a_file_on_this_computer() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("x.png");
        write_png(&file, 4, 4, false);
        let link = url::Url::from_file_path(&file).unwrap().to_string();
        let mut item = LibraryItem {
            id: 1,
            account: "a".into(),
            provider: crate::Kind::Synposter,
            remote_id: "r".into(),
            name: "x.png".into(),
            mime_type: Some("image/png".into()),
            size: Some(1),
            content_hash: None,
            url: Some(link),
            status: ItemStatus::Ready,
            created_at: chrono::Utc::now(),
            expires_at: None,
            job_id: None,
            source: None,
            thumbnail: None,
        };
        assert_eq!(
            source_of(&item),
            None,
            "a remote API's file:// link is not read"
        );
        item.provider = crate::Kind::Local;
        assert_eq!(source_of(&item), Some(file));
    }

    #[test]
    fn a_large_image_becomes_a_small_thumbnail_keeping_its_shape() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("wide.png");
        write_png(&src, 1600, 800, false);
        let out = generate(&src, &dir.path().join("cache"), "7").unwrap();
        assert_eq!(out.file_name().unwrap(), "7.jpg");
        let t = image::open(&out).unwrap();
        assert_eq!((t.width(), t.height()), (192, 96));
        let src = dir.path().join("tall.png");
        write_png(&src, 600, 900, false);
        let out = generate(&src, &dir.path().join("cache"), "8").unwrap();
        let t = image::open(&out).unwrap();
        assert_eq!((t.width(), t.height()), (96, 144));
    }

    #[test]
    fn transparent_images_keep_their_alpha_as_png() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("a.png");
        write_png(&src, 40, 40, true);
        let out = generate(&src, dir.path(), "a").unwrap();
        assert_eq!(out.extension().unwrap(), "png");
        assert!(image::open(&out).unwrap().color().has_alpha());
    }

    #[test]
    fn bytes_that_are_not_an_image_are_refused_with_a_code() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("x.png");
        std::fs::write(&src, b"not an image at all").unwrap();
        let err = generate(&src, dir.path(), "x").unwrap_err();
        assert_eq!(err.code, Code::InputUnsupportedType);
    }
}
