//! The library: one row per remote item Ferry has placed anywhere — where, its remote id,
//! name, type, size, content hash, public URL or link, status, expiry, and which job and
//! source produced it. It is what `ferry library` and the desktop's library screen read,
//! and what dedupe consults. Holds no secret.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use rusqlite::{params, OptionalExtension, Row};
use serde::{Deserialize, Serialize};

use crate::db::Db;
use crate::error::Result;
use crate::providers::{Kind, MediaStatus, RemoteMedia};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(rename = "LibraryStatus"))]
#[serde(rename_all = "lowercase")]
pub enum ItemStatus {
    Processing,
    Ready,
    Failed,
    Expired,
    Deleted,
}

impl ItemStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ItemStatus::Processing => "processing",
            ItemStatus::Ready => "ready",
            ItemStatus::Failed => "failed",
            ItemStatus::Expired => "expired",
            ItemStatus::Deleted => "deleted",
        }
    }

    fn parse(s: &str) -> ItemStatus {
        match s {
            "processing" => ItemStatus::Processing,
            "failed" => ItemStatus::Failed,
            "expired" => ItemStatus::Expired,
            "deleted" => ItemStatus::Deleted,
            _ => ItemStatus::Ready,
        }
    }
}

impl From<MediaStatus> for ItemStatus {
    fn from(s: MediaStatus) -> Self {
        match s {
            MediaStatus::Ready => ItemStatus::Ready,
            MediaStatus::Processing => ItemStatus::Processing,
            MediaStatus::Failed => ItemStatus::Failed,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct LibraryItem {
    pub id: i64,
    pub account: String,
    pub provider: Kind,
    pub remote_id: String,
    pub name: String,
    pub mime_type: Option<String>,
    pub size: Option<u64>,
    pub content_hash: Option<String>,
    pub url: Option<String>,
    pub status: ItemStatus,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub job_id: Option<i64>,
    /// The path or URL it came from; a URL without its query (a pasted presigned link's
    /// signature is a credential, and nothing needs it once the item exists).
    #[serde(serialize_with = "serialize_source")]
    pub source: Option<String>,
    pub thumbnail: Option<String>,
}

/// Rows recorded before sources were stored redacted are shown redacted too.
fn serialize_source<S: serde::Serializer>(v: &Option<String>, ser: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(s) => ser.serialize_some(&crate::redact::text(s)),
        None => ser.serialize_none(),
    }
}

impl LibraryItem {
    /// As the CLI's `media` objects show it.
    pub fn as_media(&self) -> RemoteMedia {
        RemoteMedia {
            id: self.remote_id.clone(),
            name: self.name.clone(),
            url: self.url.clone(),
            mime_type: self.mime_type.clone().unwrap_or_default(),
            size: self.size,
            status: match self.status {
                ItemStatus::Processing => MediaStatus::Processing,
                ItemStatus::Failed => MediaStatus::Failed,
                _ => MediaStatus::Ready,
            },
            expires_at: self.expires_at,
        }
    }

    pub fn is_live(&self) -> bool {
        matches!(self.status, ItemStatus::Ready | ItemStatus::Processing)
            && self.expires_at.is_none_or(|e| e > Utc::now())
    }
}

/// Which items to list: the filters combine (AND); `limit` and `before` page through the
/// result newest first (keyset on `id`, which grows with `created_at`: a page never shifts
/// when new items arrive, and no page costs more than the one before).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Filter {
    pub account: Option<String>,
    pub status: Option<ItemStatus>,
    /// Case-insensitive (ASCII) substring of the name.
    pub search: Option<String>,
    pub limit: Option<usize>,
    /// Only items older than this one (the `next` of the page before).
    pub before: Option<i64>,
}

/// One page of [`Library::page`].
#[derive(Debug, Clone, Serialize, PartialEq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct LibraryPage {
    /// Newest first, at most the filter's limit.
    pub items: Vec<LibraryItem>,
    /// How many items match the filter in all (every page together).
    pub total: u64,
    /// The `before` of the next page; `None` on the last one.
    pub next: Option<i64>,
}

impl Filter {
    /// The WHERE clause and its values. Only the filters that are set appear, so SQLite
    /// picks the index that fits (`(?1 IS NULL OR account = ?1)` would defeat them all).
    fn clause(&self, with_cursor: bool) -> (String, Vec<rusqlite::types::Value>) {
        use rusqlite::types::Value;
        let mut terms = Vec::new();
        let mut values = Vec::new();
        if let Some(a) = &self.account {
            values.push(Value::Text(a.clone()));
            terms.push(format!("account = ?{}", values.len()));
        }
        if let Some(s) = self.status {
            values.push(Value::Text(s.as_str().to_string()));
            terms.push(format!("status = ?{}", values.len()));
        }
        if let Some(q) = self.search.as_deref().filter(|q| !q.is_empty()) {
            let escaped = q
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_");
            values.push(Value::Text(format!("%{escaped}%")));
            terms.push(format!("name LIKE ?{} ESCAPE '\\'", values.len()));
        }
        if let (true, Some(b)) = (with_cursor, self.before) {
            values.push(Value::Integer(b));
            terms.push(format!("id < ?{}", values.len()));
        }
        let clause = if terms.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", terms.join(" AND "))
        };
        (clause, values)
    }
}

#[derive(Clone)]
pub struct Library {
    db: Arc<Db>,
}

const COLUMNS: &str =
    "id, account, provider, remote_id, name, mime_type, size, content_hash, url, status, \
                       created_at, expires_at, job_id, source, thumbnail";

fn ts(s: Option<String>) -> Option<DateTime<Utc>> {
    s.and_then(|s| {
        DateTime::parse_from_rfc3339(&s)
            .ok()
            .map(|d| d.with_timezone(&Utc))
    })
}

fn row(r: &Row<'_>) -> rusqlite::Result<LibraryItem> {
    let provider: String = r.get(2)?;
    Ok(LibraryItem {
        id: r.get(0)?,
        account: r.get(1)?,
        provider: Kind::parse(&provider).unwrap_or(Kind::Local),
        remote_id: r.get(3)?,
        name: r.get(4)?,
        mime_type: r.get(5)?,
        size: r.get::<_, Option<i64>>(6)?.map(|s| s as u64),
        content_hash: r.get(7)?,
        url: r.get(8)?,
        status: ItemStatus::parse(&r.get::<_, String>(9)?),
        created_at: ts(Some(r.get(10)?)).unwrap_or_else(Utc::now),
        expires_at: ts(r.get(11)?),
        job_id: r.get(12)?,
        source: r.get(13)?,
        thumbnail: r.get(14)?,
    })
}

/// What is recorded with each new item.
pub struct Provenance<'a> {
    pub account: &'a str,
    pub kind: Kind,
    pub content_hash: Option<&'a str>,
    pub job_id: Option<i64>,
    pub source: Option<&'a str>,
}

impl Library {
    pub fn new(db: Arc<Db>) -> Self {
        Library { db }
    }

    /// Record what now exists remotely; an item already known (same account and remote
    /// id) is updated, never duplicated. The name is stored without bidi controls
    /// (see [`crate::media::is_bidi_control`]): it is shown in every listing.
    pub fn record(&self, media: &RemoteMedia, p: &Provenance<'_>) -> Result<i64> {
        let conn = self.db.conn();
        self.record_in(&conn, media, p).map_err(|e| self.db.err(e))
    }

    /// [`Self::record`] inside the caller's transaction (the queue records an upload
    /// together with its job's success).
    pub(crate) fn record_in(
        &self,
        conn: &rusqlite::Connection,
        media: &RemoteMedia,
        p: &Provenance<'_>,
    ) -> rusqlite::Result<i64> {
        let name = crate::media::strip_bidi(&media.name);
        let source = p.source.map(|s| crate::redact::text(s).into_owned());
        let now = Utc::now().to_rfc3339();
        conn.prepare_cached(
            "INSERT INTO library (account, provider, remote_id, name, mime_type, size, content_hash, url, status,
                                  created_at, expires_at, job_id, source)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)
             ON CONFLICT(account, remote_id) DO UPDATE SET
                status = excluded.status,
                url = COALESCE(excluded.url, library.url),
                expires_at = COALESCE(excluded.expires_at, library.expires_at),
                content_hash = COALESCE(library.content_hash, excluded.content_hash)",
        )?
        .execute(params![
            p.account,
            p.kind.as_str(),
            media.id,
            name,
            (!media.mime_type.is_empty()).then_some(&media.mime_type),
            media.size.map(|s| s as i64),
            p.content_hash,
            media.url,
            ItemStatus::from(media.status).as_str(),
            now,
            media.expires_at.map(|e| e.to_rfc3339()),
            p.job_id,
            source,
        ])?;
        conn.prepare_cached("SELECT id FROM library WHERE account = ?1 AND remote_id = ?2")?
            .query_row(params![p.account, media.id], |r| r.get(0))
    }

    /// A live item with these bytes at this account: the dedupe answer.
    pub fn find_by_hash(&self, account: &str, hash: &str) -> Result<Option<LibraryItem>> {
        let conn = self.db.conn();
        let mut stmt = conn
            .prepare_cached(&format!(
                "SELECT {COLUMNS} FROM library WHERE account = ?1 AND content_hash = ?2 ORDER BY id DESC"
            ))
            .map_err(|e| self.db.err(e))?;
        let items = stmt
            .query_map(params![account, hash], row)
            .map_err(|e| self.db.err(e))?
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(|e| self.db.err(e))?;
        Ok(items.into_iter().find(LibraryItem::is_live))
    }

    /// Whether any live item at this account has this size: if none does, no dedupe is
    /// possible and the file need not be hashed before sending.
    pub fn has_size(&self, account: &str, size: u64) -> Result<bool> {
        self.db
            .query_row(
                "SELECT EXISTS(SELECT 1 FROM library WHERE account = ?1 AND size = ?2
                                AND status IN ('ready', 'processing'))",
                params![account, size as i64],
                |r| r.get(0),
            )
            .map_err(|e| self.db.err(e))
    }

    /// The item for a remote object of an account.
    pub fn find_remote(&self, account: &str, remote_id: &str) -> Result<Option<LibraryItem>> {
        self.db
            .query_row(
                &format!("SELECT {COLUMNS} FROM library WHERE account = ?1 AND remote_id = ?2"),
                params![account, remote_id],
                row,
            )
            .optional()
            .map_err(|e| self.db.err(e))
    }

    pub fn get(&self, id: i64) -> Result<Option<LibraryItem>> {
        self.db
            .query_row(
                &format!("SELECT {COLUMNS} FROM library WHERE id = ?1"),
                [id],
                row,
            )
            .optional()
            .map_err(|e| self.db.err(e))
    }

    /// Newest first: every item the filter matches, or its first `limit` (from `before`).
    pub fn list(&self, f: &Filter) -> Result<Vec<LibraryItem>> {
        let (clause, mut values) = f.clause(true);
        values.push(rusqlite::types::Value::Integer(
            f.limit.map(|l| l as i64).unwrap_or(-1),
        ));
        let sql = format!(
            "SELECT {COLUMNS} FROM library {clause} ORDER BY id DESC LIMIT ?{}",
            values.len()
        );
        let conn = self.db.conn();
        let mut stmt = conn.prepare_cached(&sql).map_err(|e| self.db.err(e))?;
        let items = stmt
            .query_map(rusqlite::params_from_iter(values), row)
            .map_err(|e| self.db.err(e))?
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(|e| self.db.err(e))?;
        Ok(items)
    }

    /// How many items the filter matches, ignoring its limit and cursor.
    pub fn count(&self, f: &Filter) -> Result<u64> {
        let (clause, values) = f.clause(false);
        // A substring search reads every name: over the narrow covering index, which
        // SQLite would otherwise pass over for an account or status index and then read
        // each of those rows from the table.
        let from = if f.search.as_deref().is_some_and(|q| !q.is_empty()) {
            "library INDEXED BY library_search"
        } else {
            "library"
        };
        let conn = self.db.conn();
        let mut stmt = conn
            .prepare_cached(&format!("SELECT count(*) FROM {from} {clause}"))
            .map_err(|e| self.db.err(e))?;
        stmt.query_row(rusqlite::params_from_iter(values), |r| r.get::<_, i64>(0))
            .map(|n| n as u64)
            .map_err(|e| self.db.err(e))
    }

    /// One page of the filter's items (`limit`, default [`Self::PAGE`]) with the total
    /// they are part of and the cursor of the next page.
    pub fn page(&self, f: &Filter) -> Result<LibraryPage> {
        let limit = f.limit.unwrap_or(Self::PAGE).clamp(1, Self::PAGE_MAX);
        // One more than asked: whether a next page exists, without a second query.
        let mut items = self.list(&Filter {
            limit: Some(limit + 1),
            ..f.clone()
        })?;
        let more = items.len() > limit;
        items.truncate(limit);
        let next = if more {
            items.last().map(|i| i.id)
        } else {
            None
        };
        Ok(LibraryPage {
            total: self.count(f)?,
            items,
            next,
        })
    }

    /// A page's size when none is asked for, and the most one page holds.
    pub const PAGE: usize = 100;
    pub const PAGE_MAX: usize = 1000;

    pub fn set_status(&self, id: i64, status: ItemStatus, url: Option<&str>) -> Result<()> {
        self.db
            .exec(
                "UPDATE library SET status = ?2, url = COALESCE(?3, url) WHERE id = ?1",
                params![id, status.as_str(), url],
            )
            .map_err(|e| self.db.err(e))?;
        Ok(())
    }

    pub fn set_thumbnail(&self, id: i64, path: &str) -> Result<()> {
        self.db
            .exec(
                "UPDATE library SET thumbnail = ?2 WHERE id = ?1",
                params![id, path],
            )
            .map_err(|e| self.db.err(e))?;
        Ok(())
    }

    /// Items whose expiry has passed are marked expired; returns how many.
    pub fn mark_expired(&self) -> Result<usize> {
        self.db.exec(
                "UPDATE library SET status = 'expired'
                 WHERE expires_at IS NOT NULL AND expires_at < ?1 AND status IN ('ready', 'processing')",
                [Utc::now().to_rfc3339()],
            )
            .map_err(|e| self.db.err(e))
    }
}
