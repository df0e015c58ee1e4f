//! Human-readable lines for results and listings. Plain text on stdout, one line each,
//! so they work in pipes as well as terminals.
//!
//! Names, messages and links come from remote servers and other people's files: every one
//! is printed through [`shown`], so none can move the cursor, rewrite a line (ESC, CR) or
//! reorder what a person reads (bidi controls). JSON output needs none of this: serde
//! escapes control characters, and the bytes stay exact for programs.

use std::borrow::Cow;
use std::fmt::Write as _;

use ferry_core::library::LibraryItem;
use ferry_core::{Job, MediaStatus, RemoteMedia};

use crate::send::Outcome;

/// `s` safe to print on a terminal: C0/C1 control characters become `\x1b`-style escapes,
/// other controls and bidi controls `\u{202e}`-style; everything else is kept. Borrowed
/// when there was nothing to escape.
pub fn shown(s: &str) -> Cow<'_, str> {
    let unsafe_char = |c: char| c.is_control() || ferry_core::media::is_bidi_control(c);
    if !s.chars().any(unsafe_char) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if !unsafe_char(c) {
            out.push(c);
        } else if (c as u32) < 0x100 {
            let _ = write!(out, "\\x{:02x}", c as u32);
        } else {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        }
    }
    Cow::Owned(out)
}

/// One result line; `several`: the run had several destinations, so each line names its.
pub fn line(o: &Outcome, several: bool) {
    let to = if several {
        format!("{}: ", shown(&o.account))
    } else {
        String::new()
    };
    if o.ok {
        for m in &o.media {
            let status = match m.status {
                MediaStatus::Ready => "",
                MediaStatus::Processing => " (processing)",
                MediaStatus::Failed => " (failed)",
            };
            let dedup = if o.deduplicated {
                " (already there, not sent again)"
            } else {
                ""
            };
            println!(
                "ok    {} -> {to}{}{status}{dedup}",
                shown(&o.input),
                shown(m.url.as_deref().unwrap_or(&m.id))
            );
        }
    } else if let Some(e) = &o.error {
        println!(
            "fail  {}: {to}{} [{}]",
            shown(&o.input),
            shown(&e.message),
            e.code
        );
    }
}

fn status_word(s: MediaStatus) -> &'static str {
    match s {
        MediaStatus::Ready => "ready",
        MediaStatus::Processing => "processing",
        MediaStatus::Failed => "failed",
    }
}

pub fn media_row(m: &RemoteMedia) {
    println!(
        "{}\t{}\t{}\t{}",
        shown(&m.id),
        shown(&m.name),
        status_word(m.status),
        shown(m.url.as_deref().unwrap_or("-"))
    );
}

pub fn item_row(i: &LibraryItem) {
    let expires = i
        .expires_at
        .map(|e| format!("\texpires {}", e.format("%Y-%m-%d")))
        .unwrap_or_default();
    println!(
        "{}\t{}\t{}\t{}\t{}\t{}{expires}",
        i.id,
        i.created_at.format("%Y-%m-%d %H:%M"),
        i.account,
        shown(&i.name),
        i.status.as_str(),
        shown(i.url.as_deref().unwrap_or(&i.remote_id))
    );
}

/// A job's status in words: `waiting retry`, or `offline` for a job waiting for the
/// network (the journal's `waiting_retry` with `network.offline`).
pub fn status_words(j: &Job) -> String {
    if j.status == ferry_core::JobStatus::WaitingRetry
        && j.error
            .as_ref()
            .is_some_and(|e| e.code == ferry_core::Code::NetworkOffline.as_str())
    {
        return "offline".to_string();
    }
    j.status.as_str().replace('_', " ")
}

/// The bandwidth limit in one line for `ferry queue list` and the sending commands;
/// nothing when there is none.
pub fn bandwidth(b: &ferry_core::queue::bandwidth::BandwidthNow) -> Option<String> {
    if b.limit == "off" && !b.waiting {
        return None;
    }
    let slowed = if b.slowed { " (slowed down)" } else { "" };
    Some(if b.waiting {
        let when = starts_at(b.resumes_at.as_deref())
            .map(|t| format!("sending starts at {t}"))
            .unwrap_or_else(|| "nothing is sent until the limit changes".to_string());
        format!(
            "bandwidth: waiting — the limit \"{}\" is 0 now{slowed}; {when}",
            b.limit
        )
    } else if b.limit == b.rate {
        format!("bandwidth: at most {}/s{slowed}", b.rate)
    } else {
        format!(
            "bandwidth: at most {}/s now{slowed} (timetable \"{}\")",
            b.rate, b.limit
        )
    })
}

/// The line for a destination whose own bandwidth limit holds its jobs now.
pub fn account_waiting(a: &ferry_core::queue::bandwidth::AccountWaiting) -> String {
    let when = starts_at(a.resumes_at.as_deref())
        .map(|t| format!("they start at {t}"))
        .unwrap_or_else(|| "nothing goes there until its limit changes".to_string());
    format!(
        "bandwidth: jobs to {} wait — its limit \"{}\" is 0 now; {when}",
        a.account, a.limit
    )
}

/// A limit's next start (RFC 3339) as the day and time.
fn starts_at(rfc3339: Option<&str>) -> Option<String> {
    let t = chrono::DateTime::parse_from_rfc3339(rfc3339?).ok()?;
    Some(t.format("%a %H:%M").to_string())
}

pub fn job_row(j: &Job) {
    let progress = match j.bytes_total {
        Some(t) if t > 0 => format!("{:>3}%", j.bytes_sent * 100 / t),
        _ => "   -".to_string(),
    };
    let err = j
        .error
        .as_ref()
        .map(|e| format!("\t{} [{}]", shown(&e.message), e.code))
        .unwrap_or_default();
    println!(
        "{}\t{}\t{progress}\t{}\t{}{err}",
        j.id,
        status_words(j).replace(' ', "_"),
        j.account,
        shown(&j.name)
    );
}

#[cfg(test)]
mod tests {
    use super::shown;

    #[test]
    fn control_and_bidi_characters_are_escaped_and_the_rest_kept() {
        assert_eq!(shown("a\u{1b}[2Jb\rc"), "a\\x1b[2Jb\\x0dc");
        assert_eq!(shown("x\u{202e}y\u{9b}"), "x\\u{202e}y\\x9b");
        assert_eq!(shown("café.png"), "café.png");
    }
}
