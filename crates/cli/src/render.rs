//! Human-readable lines for results and listings. Plain text on stdout, one line each,
//! so they work in pipes as well as terminals.

use ferry_core::records::Record;
use ferry_core::{MediaStatus, RemoteMedia};

pub fn line(input: &str, ok: bool, media: &[RemoteMedia], error: Option<(&str, &str)>) {
    if ok {
        for m in media {
            let status = match m.status {
                MediaStatus::Ready => "",
                MediaStatus::Processing => " (processing)",
                MediaStatus::Failed => " (failed)",
            };
            println!(
                "ok    {input} -> {}{status}",
                m.url.as_deref().unwrap_or(&m.id)
            );
        }
    } else if let Some((code, message)) = error {
        println!("fail  {input}: {message} [{code}]");
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
        m.id,
        m.name,
        status_word(m.status),
        m.url.as_deref().unwrap_or("-")
    );
}

pub fn record_row(r: &Record) {
    let expires = r
        .media
        .expires_at
        .map(|e| format!("\texpires {}", e.format("%Y-%m-%d")))
        .unwrap_or_default();
    println!(
        "{}\t{}\t{}\t{}\t{}{expires}",
        r.sent_at.format("%Y-%m-%d %H:%M"),
        r.account,
        r.media.name,
        status_word(r.media.status),
        r.media.url.as_deref().unwrap_or(&r.media.id)
    );
}
