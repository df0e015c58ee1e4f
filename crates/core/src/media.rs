//! What a file is, from its bytes (never its name), and whether a destination takes it.
//! Also the filename rules APIs impose. Nothing here does I/O beyond reading a file's
//! first bytes.

use std::io::Read;
use std::path::Path;

use crate::error::{Code, Error, Result};
use crate::providers::{Kind, Limits};

/// How many leading bytes are enough to recognise every format Ferry cares about.
pub const SNIFF_LEN: usize = 8192;

/// The MIME type of these leading bytes. HTML is recognised so that share-page links are
/// refused; anything unknown is `application/octet-stream`.
pub fn sniff(head: &[u8]) -> String {
    if let Some(t) = infer::get(head) {
        return t.mime_type().to_string();
    }
    if looks_like_html(head) {
        return "text/html".to_string();
    }
    "application/octet-stream".to_string()
}

pub fn sniff_path(path: &Path) -> Result<String> {
    let mut f = std::fs::File::open(path).map_err(|e| Error::io(e, path.display()))?;
    let mut buf = vec![0u8; SNIFF_LEN];
    let mut n = 0;
    while n < buf.len() {
        let r = f
            .read(&mut buf[n..])
            .map_err(|e| Error::io(e, path.display()))?;
        if r == 0 {
            break;
        }
        n += r;
    }
    Ok(sniff(&buf[..n]))
}

pub fn looks_like_html(head: &[u8]) -> bool {
    let text = String::from_utf8_lossy(&head[..head.len().min(1024)]).to_ascii_lowercase();
    let t = text.trim_start_matches('\u{feff}').trim_start();
    t.starts_with("<!doctype html")
        || t.starts_with("<html")
        || t.starts_with("<head")
        || t.starts_with("<!--") && t.contains("<html")
}

/// File extension for a MIME type, for names that came without one.
pub fn extension_for(mime: &str) -> Option<&'static str> {
    Some(match mime {
        "image/jpeg" => "jpg",
        "image/png" => "png",
        "image/gif" => "gif",
        "image/webp" => "webp",
        "video/mp4" => "mp4",
        "video/quicktime" => "mov",
        "video/webm" => "webm",
        "video/x-matroska" => "mkv",
        "video/x-msvideo" => "avi",
        _ => return None,
    })
}

/// Refuse, before a byte is sent, what the destination would refuse.
pub fn check(kind: Kind, limits: &Limits, name: &str, mime: &str, size: u64) -> Result<()> {
    if !limits.accepts_mime(mime) {
        return Err(Error::new(
            Code::InputUnsupportedType,
            format!(
                "{name} is {}, and {} accepts only {}",
                describe(mime),
                kind.display_name(),
                limits.accepts_human
            ),
        ));
    }
    if let Some(max) = limits.max_bytes {
        if size > max {
            return Err(Error::new(
                Code::LimitTooLarge,
                format!(
                    "{name} is {}, larger than the {} that {} accepts per file",
                    human_bytes(size),
                    human_bytes(max),
                    kind.display_name()
                ),
            ));
        }
    }
    Ok(())
}

fn describe(mime: &str) -> String {
    match mime {
        "application/octet-stream" => "not a recognised image or video".to_string(),
        "text/html" => "a web page (HTML)".to_string(),
        m => format!("of type {m}"),
    }
}

/// Decimal units, as the providers state their limits ("50 MB").
pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KB", "MB", "GB", "TB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1000.0 && u < UNITS.len() - 1 {
        v /= 1000.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else if v.fract() == 0.0 {
        format!("{v:.0} {}", UNITS[u])
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

/// The longest file name most filesystems and every provider accept, in bytes.
pub const MAX_NAME_BYTES: usize = 255;
/// Longest extension (with its dot) kept when a name is shortened; anything longer is
/// part of the name, not a type.
const MAX_EXTENSION_BYTES: usize = 16;

/// Unicode bidirectional embedding, override and isolate controls (U+202A–U+202E,
/// U+2066–U+2069). They are invisible and reorder what follows, so `photo\u{202e}gnp.exe`
/// shows as `photoexe.png`: never part of a name Ferry sends or stores.
pub fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// `name` without bidi controls (see [`is_bidi_control`]).
pub fn strip_bidi(name: &str) -> String {
    name.chars().filter(|c| !is_bidi_control(*c)).collect()
}

/// `(stem, extension)`; the extension keeps its dot. A leading dot starts a hidden name,
/// not an extension (`.profile` has none), and a "extension" longer than 16 bytes is
/// part of the stem.
pub fn split_extension(name: &str) -> (&str, &str) {
    match name.rfind('.') {
        Some(i) if i > 0 && name.len() - i <= MAX_EXTENSION_BYTES => (&name[..i], &name[i..]),
        _ => (name, ""),
    }
}

/// `stem + suffix + ext`, the stem shortened (never inside a UTF-8 character) so the whole
/// fits in [`MAX_NAME_BYTES`]: the extension and the suffix (` (2)`) always survive.
pub fn join_name(stem: &str, suffix: &str, ext: &str) -> String {
    let budget = MAX_NAME_BYTES.saturating_sub(suffix.len() + ext.len());
    let mut cut = stem.len().min(budget);
    while !stem.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}{suffix}{ext}", &stem[..cut])
}

/// A name every API accepts: no `/`, `\`, NUL, control or bidi characters, at most 255
/// bytes (the extension is kept when shortening). The library keeps the original.
pub fn sanitize_filename(name: &str) -> String {
    let cleaned: String = name
        .chars()
        .filter(|c| !is_bidi_control(*c))
        .map(|c| {
            if c == '/' || c == '\\' || c.is_control() {
                '_'
            } else {
                c
            }
        })
        .collect();
    let cleaned = cleaned.trim().to_string();
    let cleaned = if cleaned.is_empty() || cleaned == "." || cleaned == ".." {
        "file".to_string()
    } else {
        cleaned
    };
    if cleaned.len() <= MAX_NAME_BYTES {
        return cleaned;
    }
    let (stem, ext) = split_extension(&cleaned);
    join_name(stem, "", ext)
}

/// A file name every filesystem a library may live on accepts — Windows (NTFS), exFAT
/// and FAT cards, SMB shares, APFS — whatever system Ferry runs on: [`sanitize_filename`],
/// plus `< > : " | ? *` made `_`, no trailing dots or spaces (Windows drops them, so the
/// file would not have the name Ferry recorded), and no device names (`CON`, `NUL.png`,
/// `COM1`…, which Windows opens as devices whatever the extension): those get a `_` in
/// front.
pub fn portable_name(name: &str) -> String {
    let cleaned: String = sanitize_filename(name)
        .chars()
        .map(|c| match c {
            '<' | '>' | ':' | '"' | '|' | '?' | '*' => '_',
            c => c,
        })
        .collect();
    let cleaned = cleaned.trim_end_matches(['.', ' ']).trim_start();
    let cleaned = if cleaned.is_empty() { "file" } else { cleaned };
    let device = cleaned.split('.').next().unwrap_or("").trim_end();
    let out = if is_device_name(device) {
        format!("_{cleaned}")
    } else {
        cleaned.to_string()
    };
    let (stem, ext) = split_extension(&out);
    join_name(stem, "", ext)
}

/// Windows' device names, which it opens as devices in any folder and with any
/// extension: `CON`, `PRN`, `AUX`, `NUL`, `COM0`–`COM9`, `LPT0`–`LPT9` (and with ¹²³).
fn is_device_name(stem: &str) -> bool {
    let up = stem.to_uppercase();
    if matches!(
        up.as_str(),
        "CON" | "PRN" | "AUX" | "NUL" | "CONIN$" | "CONOUT$"
    ) {
        return true;
    }
    ["COM", "LPT"].iter().any(|p| {
        let mut rest = up.strip_prefix(p).unwrap_or("").chars();
        matches!((rest.next(), rest.next()), (Some(c), None) if c.is_ascii_digit() || matches!(c, '¹' | '²' | '³'))
    })
}
/// `name` shortened (its stem, never its extension) so that `folder` joined with it stays
/// within `max_path` characters where that is possible: Windows programs other than
/// Ferry (Explorer, many editors) still refuse paths past 260. `None` if even a
/// 16-character stem does not fit.
pub fn fit_path(folder: &Path, name: &str, max_path: usize) -> Option<String> {
    let folder_len = folder.as_os_str().to_string_lossy().chars().count() + 1;
    let total = folder_len + name.chars().count();
    if total <= max_path {
        return Some(name.to_string());
    }
    let (stem, ext) = split_extension(name);
    let keep = max_path.checked_sub(folder_len + ext.chars().count())?;
    if keep < 16.min(stem.chars().count()) {
        return None;
    }
    Some(format!(
        "{}{ext}",
        stem.chars().take(keep).collect::<String>()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_come_from_bytes_not_names() {
        assert_eq!(
            sniff(&[0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a, 0, 0]),
            "image/png"
        );
        assert_eq!(sniff(b"<!DOCTYPE html><html>"), "text/html");
        assert_eq!(sniff(b"hello"), "application/octet-stream");
    }

    #[test]
    fn library_names_are_valid_on_every_filesystem() {
        assert_eq!(portable_name("clip: final?.mp4"), "clip_ final_.mp4");
        assert_eq!(portable_name("a<b>\"c|d*.jpg"), "a_b__c_d_.jpg");
        assert_eq!(portable_name("CON"), "_CON");
        assert_eq!(portable_name("nul.png"), "_nul.png");
        assert_eq!(portable_name("Com1.tar.gz"), "_Com1.tar.gz");
        assert_eq!(portable_name("LPT²"), "_LPT²");
        assert_eq!(portable_name("console.png"), "console.png");
        assert_eq!(portable_name("COM10.png"), "COM10.png");
        assert_eq!(portable_name("photo. . "), "photo");
        assert_eq!(portable_name("..."), "file");
        assert_eq!(portable_name("   "), "file");
        assert!(portable_name(&format!("{}.jpg", "é".repeat(200))).len() <= MAX_NAME_BYTES);
    }

    #[test]
    fn long_paths_are_shortened_to_fit_keeping_the_extension() {
        let folder = Path::new("C:/Users/someone/Pictures/Ferry/2026/12");
        let long = format!("{}.mp4", "x".repeat(300));
        let fitted = fit_path(folder, &long, 260).unwrap();
        assert!(fitted.ends_with(".mp4"));
        assert_eq!(folder.to_string_lossy().len() + 1 + fitted.len(), 260);
        assert_eq!(fit_path(folder, "short.mp4", 260).unwrap(), "short.mp4");
        assert_eq!(
            fit_path(&Path::new("C:/").join("d".repeat(250)), &long, 260),
            None
        );
    }

    #[test]
    fn filenames_are_made_safe_and_short() {
        assert_eq!(sanitize_filename("a/b\\c\0.jpg"), "a_b_c_.jpg");
        let long = format!("{}.jpg", "é".repeat(300));
        let s = sanitize_filename(&long);
        assert!(s.len() <= 255 && s.ends_with(".jpg"));
        assert_eq!(sanitize_filename(""), "file");
    }

    #[test]
    fn bidi_controls_are_stripped_from_names() {
        let name = "photo\u{202e}gnp.exe\u{2066}x\u{2069}\u{202a}";
        assert_eq!(sanitize_filename(name), "photognp.exex");
        assert_eq!(strip_bidi(name), "photognp.exex");
    }

    #[test]
    fn a_255_byte_name_beginning_with_a_dot_is_kept_whole() {
        let name = format!(".{}", "a".repeat(254));
        assert_eq!(sanitize_filename(&name), name);
        assert_eq!(split_extension(&name), (name.as_str(), ""));
        let longer = format!(".{}", "é".repeat(200));
        let s = sanitize_filename(&longer);
        assert!(s.len() <= 255 && s.starts_with(".é"), "{s}");
        assert_eq!(split_extension(".profile"), (".profile", ""));
        assert_eq!(split_extension(".a.png"), (".a", ".png"));
    }

    #[test]
    fn a_suffix_on_a_long_name_shortens_the_stem_and_keeps_the_extension() {
        let (stem, ext) = split_extension("x.jpg");
        assert_eq!(join_name(stem, " (2)", ext), "x (2).jpg");
        let long = format!("{}.jpg", "é".repeat(125)); // 254 bytes
        let (stem, ext) = split_extension(&long);
        let s = join_name(stem, " (2)", ext);
        assert!(s.len() <= 255, "{}", s.len());
        assert!(s.ends_with("é (2).jpg"), "{s}");
    }

    #[test]
    fn limits_name_the_limit() {
        let e = check(
            Kind::Synposter,
            &Kind::Synposter.limits(),
            "big.mp4",
            "video/mp4",
            60_000_000,
        )
        .unwrap_err();
        assert_eq!(e.code, Code::LimitTooLarge);
        assert!(e.message.contains("50 MB"), "{}", e.message);
        let e = check(
            Kind::Fastpix,
            &Kind::Fastpix.limits(),
            "a.png",
            "image/png",
            10,
        )
        .unwrap_err();
        assert_eq!(e.code, Code::InputUnsupportedType);
    }
}
