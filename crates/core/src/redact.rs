//! Redaction of URLs before they are shown: in error messages, JSON output, the UI and logs.
//!
//! Presigned and tokened URLs (S3's `?X-Amz-Signature=…`, a CDN's `?token=…`,
//! `https://user:pass@host/`) carry a credential in their query or userinfo. Whatever Ferry
//! says about a URL goes through here, so only the scheme, host and path are ever shown:
//! the query becomes `?[redacted]`, the userinfo `[redacted]@`, the fragment is dropped.
//! [`crate::Error::new`] applies [`text`] to every message, and both hosts write their
//! logs through [`Writer`].
//!
//! Not for the data itself: the library keeps the deliverable link the person asked for
//! (it is the product), and the job journal keeps the pasted URL (it is needed to resume).
//! This module holds no policy about which URLs are secret: it treats every query as one.

use std::borrow::Cow;

/// What stands in for a removed query or userinfo.
pub const REDACTED: &str = "[redacted]";

/// One URL (or something that looks like one), without its query, userinfo or fragment.
/// Text that is not a URL comes back as [`text`] would leave it.
pub fn url(u: &str) -> String {
    text(u).into_owned()
}

/// `text` with every URL in it redacted (see [`url`]). Borrowed when there was nothing to do.
pub fn text(s: &str) -> Cow<'_, str> {
    if !s.contains("://") {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    let mut changed = false;
    while let Some(sep) = rest.find("://") {
        // Whatever precedes `://` (the scheme, the sentence) is kept as it is.
        let after = &rest[sep + 3..];
        let end = after.find(is_url_end).unwrap_or(after.len());
        let mut token = &after[..end];
        // Trailing punctuation belongs to the sentence ("(… url): next"), not the URL.
        let trimmed = token.trim_end_matches([')', ']', ',', '.', ':', ';', '!']);
        token = trimmed;
        let (redacted, did) = redact_after_scheme(token);
        changed |= did;
        out.push_str(&rest[..sep + 3]);
        out.push_str(&redacted);
        rest = &after[token.len()..];
    }
    if !changed {
        return Cow::Borrowed(s);
    }
    out.push_str(rest);
    Cow::Owned(out)
}

/// Where a URL inside free text ends: whitespace, quotes and angle brackets never occur
/// unescaped in a URL.
fn is_url_end(c: char) -> bool {
    c.is_whitespace() || c.is_control() || matches!(c, '"' | '\'' | '<' | '>' | '`')
}

/// `host/path?query#frag` (what follows `scheme://`) with the userinfo and query
/// replaced and the fragment dropped. Returns whether anything was removed.
fn redact_after_scheme(rest: &str) -> (String, bool) {
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let mut changed = false;
    let mut out = String::with_capacity(rest.len());
    match authority.rfind('@') {
        Some(at) => {
            out.push_str(REDACTED);
            out.push_str(&authority[at..]);
            changed = true;
        }
        None => out.push_str(authority),
    }
    let path_end = tail.find(['?', '#']).unwrap_or(tail.len());
    out.push_str(&tail[..path_end]);
    let after_path = &tail[path_end..];
    if let Some(q) = after_path.strip_prefix('?') {
        let query = q.split('#').next().unwrap_or("");
        if !query.is_empty() {
            out.push('?');
            out.push_str(REDACTED);
        }
        changed = true;
    } else if !after_path.is_empty() {
        // A fragment alone (`#access_token=…` in OAuth redirects) is dropped too.
        changed = true;
    }
    (out, changed)
}

/// `#[serde(serialize_with = "crate::redact::serialize")]`: a field that may hold a URL,
/// serialised through [`text`].
pub fn serialize<S: serde::Serializer>(value: &str, ser: S) -> Result<S::Ok, S::Error> {
    ser.serialize_str(&text(value))
}

/// A writer that redacts every URL in what passes through it: both hosts' log output
/// goes through one, so no log line (Ferry's own, or an HTTP library's at debug level)
/// shows a presigned query. `tracing-subscriber` writes each event with one `write_all`,
/// so a URL is never split across two calls.
pub struct Writer<W> {
    inner: W,
}

impl<W> Writer<W> {
    pub fn new(inner: W) -> Self {
        Writer { inner }
    }
}

impl<W: std::io::Write> std::io::Write for Writer<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let s = String::from_utf8_lossy(buf);
        match text(&s) {
            // Nothing to hide: pass the bytes as they came (even invalid UTF-8).
            Cow::Borrowed(_) => self.inner.write_all(buf)?,
            Cow::Owned(clean) => self.inner.write_all(clean.as_bytes())?,
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_presigned_url_keeps_its_host_and_path_and_loses_its_query() {
        assert_eq!(
            url("https://bucket.s3.example.com/a/b.png?X-Amz-Signature=secret&X-Amz-Expires=60"),
            "https://bucket.s3.example.com/a/b.png?[redacted]"
        );
    }

    #[test]
    fn userinfo_and_fragments_are_removed() {
        assert_eq!(
            url("https://user:pw@example.com/x#access_token=t"),
            "https://[redacted]@example.com/x"
        );
    }

    #[test]
    fn urls_inside_a_sentence_are_redacted_and_the_sentence_kept() {
        let s = "fetching http://127.0.0.1:9/a?sig=secret failed (error for url (http://h/b?token=secret2)): closed";
        let r = text(s);
        assert!(!r.contains("secret"), "{r}");
        assert_eq!(
            r,
            "fetching http://127.0.0.1:9/a?[redacted] failed (error for url (http://h/b?[redacted])): closed"
        );
    }

    #[test]
    fn text_without_a_url_is_left_as_it_is() {
        assert!(matches!(text("no links here: a?b=c"), Cow::Borrowed(_)));
        assert!(matches!(
            text("see https://example.com/path for more"),
            Cow::Borrowed(_)
        ));
        assert_eq!(text("ends with ://"), "ends with ://");
    }

    #[test]
    fn the_log_writer_redacts_what_it_writes() {
        use std::io::Write;
        let mut w = Writer::new(Vec::new());
        w.write_all(b"redirecting 'http://a/x?sig=secret' to 'http://b/y?sig=secret'\n")
            .unwrap();
        let out = String::from_utf8(w.inner).unwrap();
        assert!(!out.contains("secret"), "{out}");
        assert!(out.contains("http://b/y?[redacted]"), "{out}");
    }
}
