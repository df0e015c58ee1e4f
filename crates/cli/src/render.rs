//! Human-readable lines for results and listings. Plain text on stdout, one line each,
//! so they work in pipes as well as terminals.

use ferry_core::library::LibraryItem;
use ferry_core::{Job, MediaStatus, RemoteMedia};

use crate::send::Outcome;

pub fn line(o: &Outcome) {
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
                "ok    {} -> {}{status}{dedup}",
                o.input,
                m.url.as_deref().unwrap_or(&m.id)
            );
        }
    } else if let Some(e) = &o.error {
        println!("fail  {}: {} [{}]", o.input, e.message, e.code);
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
        i.name,
        i.status.as_str(),
        i.url.as_deref().unwrap_or(&i.remote_id)
    );
}

pub fn job_row(j: &Job) {
    let progress = match j.bytes_total {
        Some(t) if t > 0 => format!("{:>3}%", j.bytes_sent * 100 / t),
        _ => "   -".to_string(),
    };
    let err = j
        .error
        .as_ref()
        .map(|e| format!("\t{} [{}]", e.message, e.code))
        .unwrap_or_default();
    println!(
        "{}\t{}\t{progress}\t{}\t{}{err}",
        j.id,
        j.status.as_str(),
        j.account,
        j.name
    );
}
