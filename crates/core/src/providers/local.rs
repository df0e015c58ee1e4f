//! The local library: a folder on this machine, the default destination, no account
//! needed. Files land in `dir/YYYY/MM/name`, or where the account's `name_template` says;
//! an existing file is never overwritten (a ` (2)` suffix is added instead), and a
//! half-copied file never appears under its final name: bytes go to a hidden temp file
//! that is moved into place only when complete, by a move that never replaces a file
//! (`place`), hard links or not (exFAT, SMB).

use std::path::{Path, PathBuf};

use async_trait::async_trait;
use futures_util::StreamExt;
use tokio::io::AsyncWriteExt;

use super::{Features, Kind, MediaStatus, OptionSpec, Provider, RemoteMedia, Settings, Upload};
use crate::error::{Code, Error, Result};
use crate::transfer::{Ctx, Phase};

pub const OPTIONS: &[OptionSpec] = &[
    OptionSpec::new("dir", "Folder of the library (default: FERRY_HOME/library)"),
    OptionSpec::new(
        "name_template",
        "File names inside the folder, e.g. {yyyy}/{mm}/{stem}-{hash8}{ext} \
         (tokens: {yyyy} {mm} {dd} {name} {stem} {ext} {hash8} {rule} {account}; \
         default: YYYY/MM/name)",
    ),
    super::AFTER_BATCH_OPTION,
    super::AFTER_COMMAND_OPTION,
];

pub struct Local {
    dir: PathBuf,
    /// The account's `name_template`, if it has one.
    template: Option<crate::naming::Template>,
    account: String,
}

impl Local {
    pub fn new(s: &Settings) -> Result<Self> {
        let dir = s
            .get("dir")
            .map(PathBuf::from)
            .unwrap_or_else(|| s.home.join("library"));
        let template = crate::naming::from_options(&s.options, Kind::Local)
            .map_err(|e| e.context(format!("account `{}`", s.account)))?;
        Ok(Local {
            dir,
            template,
            account: s.account.clone(),
        })
    }

    /// The folder and file name an upload goes to. Ferry's own: `YYYY/MM` of now, the
    /// name as sent. A template's: its folders (each made portable, as names are) under
    /// `dir`, dated when the job was queued.
    fn destination(&self, upload: &Upload, ctx: &Ctx) -> (PathBuf, String) {
        let Some(t) = &self.template else {
            let now = chrono::Local::now();
            let folder = self
                .dir
                .join(now.format("%Y").to_string())
                .join(now.format("%m").to_string());
            return (folder, upload.api_name.clone());
        };
        let queued = ctx
            .stable_ref()
            .map_or_else(chrono::Utc::now, |r| r.created);
        let fallback;
        let hash = match &upload.naming.hash {
            Some(h) => h.as_str(),
            None => {
                fallback = crate::naming::Facts::hash_of_url(&upload.api_name);
                fallback.as_str()
            }
        };
        let rendered = t.render(&crate::naming::Facts {
            name: &upload.api_name,
            hash,
            rule: upload.naming.rule.as_deref(),
            account: &self.account,
            queued,
        });
        let mut segments: Vec<String> = rendered
            .split('/')
            .map(crate::media::portable_name)
            .collect();
        let name = segments.pop().unwrap_or_else(|| upload.api_name.clone());
        let folder = segments.iter().fold(self.dir.clone(), |d, s| d.join(s));
        (folder, name)
    }

    fn media(&self, path: &Path, name: &str, mime: &str, size: u64) -> RemoteMedia {
        RemoteMedia {
            id: path
                .strip_prefix(&self.dir)
                .unwrap_or(path)
                .to_string_lossy()
                .into_owned(),
            name: name.to_string(),
            url: url::Url::from_file_path(path).ok().map(String::from),
            mime_type: mime.to_string(),
            size: Some(size),
            status: MediaStatus::Ready,
            expires_at: None,
        }
    }

    /// Move the finished temp file to the first free name; never replaces a file. A name
    /// beginning with `.` gets a `_` so the file does not hide; a ` (n)` suffix goes
    /// before the extension, shortening the stem so every candidate fits the filesystem's
    /// 255 bytes.
    fn place(
        &self,
        tmp: &Path,
        folder: &Path,
        name: &str,
        ctx: &Ctx,
        size: u64,
    ) -> Result<PathBuf> {
        // Valid on every filesystem the library may be on (exFAT refuses `:` and `?` on
        // Linux too), and on Windows short enough for the programs that open it.
        let name = crate::media::portable_name(name);
        let name = if cfg!(windows) {
            crate::media::fit_path(folder, &name, 260).unwrap_or(name)
        } else {
            name
        };
        // Split first: a leading dot starts a hidden name, not an extension.
        let (stem, ext) = crate::media::split_extension(&name);
        let stem = if stem.starts_with('.') {
            format!("_{stem}")
        } else {
            stem.to_string()
        };
        for n in 1..10_000u32 {
            let suffix = if n == 1 {
                String::new()
            } else {
                format!(" ({n})")
            };
            let candidate = folder.join(crate::media::join_name(&stem, &suffix, ext));
            if std::fs::symlink_metadata(&candidate).is_ok() {
                continue;
            }
            // Journaled before the file appears: a kill between placing it and recording
            // it finds this name at the resume, instead of placing a second copy.
            ctx.save_state(&serde_json::json!({ "local_placing": candidate, "size": size }))?;
            match crate::place::rename_no_clobber(tmp, &candidate) {
                Ok(()) => return Ok(candidate),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(Error::io(e, candidate.display())),
            }
        }
        Err(Error::new(
            Code::Io,
            format!("too many files named {name} in {}", folder.display()),
        ))
    }
}

impl Local {
    /// An earlier attempt of this job that placed its file and was cut off before the
    /// library recorded it: the same file, found by its journaled name, size and content.
    async fn placed_before(&self, upload: &Upload, ctx: &Ctx) -> Option<PathBuf> {
        let state = ctx.load_state()?;
        let path = PathBuf::from(state.get("local_placing")?.as_str()?);
        let size = state.get("size")?.as_u64()?;
        let meta = std::fs::metadata(&path).ok()?;
        if size != upload.size || meta.len() != size || !path.starts_with(&self.dir) {
            return None;
        }
        if let crate::transfer::Source::File { path: src, .. } = &upload.source {
            let stop = tokio_util::sync::CancellationToken::new();
            let (a, b) = (
                crate::transfer::hash_file(src, &stop).await.ok()?,
                crate::transfer::hash_file(&path, &stop).await.ok()?,
            );
            if a != b {
                return None;
            }
        }
        Some(path)
    }
}

/// Bytes copied between two flushes started in the background.
const FLUSH_EVERY: u64 = 64 * 1024 * 1024;

/// Flushes of a copy's data to the disk while it is being written, one at a time on a
/// blocking thread, so the final `sync_all` has little left to do. A copy paced by a
/// slower destination (a fan-out's shared read) otherwise left gigabytes in the page
/// cache for that one sync: seconds after the last byte arrived, measured.
#[derive(Default)]
struct Flush {
    since: u64,
    running: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

impl Flush {
    async fn wrote(
        &mut self,
        n: u64,
        out: &mut tokio::fs::File,
        tmp: &tempfile::NamedTempFile,
    ) -> std::io::Result<()> {
        self.since += n;
        if self.since < FLUSH_EVERY || self.running.as_ref().is_some_and(|r| !r.is_finished()) {
            return Ok(());
        }
        self.finish().await?;
        // What was written is with the OS before the flush starts.
        out.flush().await?;
        let file = tmp.reopen()?;
        self.running = Some(tokio::task::spawn_blocking(move || file.sync_data()));
        self.since = 0;
        Ok(())
    }

    /// Wait for the flush running, if any.
    async fn finish(&mut self) -> std::io::Result<()> {
        match self.running.take() {
            Some(r) => r.await.map_err(std::io::Error::other)?,
            None => Ok(()),
        }
    }
}

#[async_trait]
impl Provider for Local {
    fn kind(&self) -> Kind {
        Kind::Local
    }

    fn features(&self) -> Features {
        Features {
            test_credentials: true,
            list_remote: true,
            delete_remote: true,
            ..Features::default()
        }
    }

    fn name_needs_hash(&self) -> bool {
        self.template
            .as_ref()
            .is_some_and(crate::naming::Template::uses_hash)
    }

    async fn upload(&self, upload: &Upload, ctx: &Ctx) -> Result<Vec<RemoteMedia>> {
        if let Some(done) = self.placed_before(upload, ctx).await {
            return Ok(vec![self.media(
                &done,
                &upload.name,
                &upload.mime,
                upload.size,
            )]);
        }
        let (folder, name) = self.destination(upload, ctx);
        tokio::fs::create_dir_all(&folder)
            .await
            .map_err(|e| Error::io(e, folder.display()))?;
        // Beside Ferry's own `YYYY/MM` folders; a template's folders may be deeper than
        // the leftover sweep looks (`import::remove_part_files`), so its temp files stay
        // at the library's top, on the same disk, and the move still never replaces.
        let tmp_dir = if self.template.is_some() {
            &self.dir
        } else {
            &folder
        };
        let tmp = tempfile::Builder::new()
            .prefix(".ferry-")
            .suffix(".part")
            .tempfile_in(tmp_dir)
            .map_err(|e| Error::io(e, tmp_dir.display()))?;
        ctx.progress.start(upload.size);
        let copy = async {
            let io = |e| Error::io(e, tmp.path().display());
            let mut out = tokio::fs::File::from_std(tmp.reopen().map_err(io)?);
            let mut stream = upload.source.open_range(0, upload.size).await?;
            let mut written = 0u64;
            let mut flush = Flush::default();
            while let Some(chunk) = stream.next().await {
                let chunk = chunk.map_err(|e| Error::new(Code::InputInvalid, e.to_string()))?;
                written += chunk.len() as u64;
                out.write_all(&chunk).await.map_err(io)?;
                ctx.progress.add(chunk.len() as u64);
                flush
                    .wrote(chunk.len() as u64, &mut out, &tmp)
                    .await
                    .map_err(io)?;
            }
            flush.finish().await.map_err(io)?;
            out.sync_all().await.map_err(io)?;
            if written != upload.size {
                return Err(Error::new(
                    Code::InputInvalid,
                    format!("expected {} bytes, read {written}", upload.size),
                ));
            }
            Ok(())
        };
        ctx.cancellable(copy).await?;
        ctx.progress.phase(Phase::Processing);
        // Closed before it is moved (Windows moves an open file only by its sharing
        // rules); removed on drop if it is still there, the placed final name stays.
        let tmp = tmp.into_temp_path();
        let placed = self.place(&tmp, &folder, &name, ctx, upload.size)?;
        drop(tmp);
        Ok(vec![self.media(
            &placed,
            &upload.name,
            &upload.mime,
            upload.size,
        )])
    }

    async fn test(&self, _ctx: &Ctx) -> Result<()> {
        std::fs::create_dir_all(&self.dir).map_err(|e| Error::io(e, self.dir.display()))?;
        tempfile::tempfile_in(&self.dir)
            .map(|_| ())
            .map_err(|e| Error::io(e, format!("{} is not writable", self.dir.display())))
    }

    async fn list_remote(&self, _ctx: &Ctx) -> Result<Vec<RemoteMedia>> {
        let mut out = Vec::new();
        let mut stack = vec![self.dir.clone()];
        while let Some(dir) = stack.pop() {
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            for entry in entries.flatten() {
                let path = entry.path();
                let Ok(ft) = entry.file_type() else { continue };
                let name = entry.file_name().to_string_lossy().into_owned();
                if ft.is_dir() {
                    stack.push(path);
                } else if ft.is_file() && !name.starts_with(".ferry-") {
                    let size = entry.metadata().map(|m| m.len()).unwrap_or(0);
                    let mime = crate::media::sniff_path(&path)
                        .unwrap_or_else(|_| "application/octet-stream".into());
                    out.push(self.media(&path, &name, &mime, size));
                }
            }
        }
        out.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(out)
    }

    async fn exists(&self, media: &RemoteMedia, _ctx: &Ctx) -> Result<Option<bool>> {
        let path = self.dir.join(&media.id);
        Ok(Some(match std::fs::metadata(&path) {
            Ok(m) => m.is_file() && media.size.is_none_or(|s| s == m.len()),
            Err(_) => false,
        }))
    }

    async fn delete(&self, id: &str, _ctx: &Ctx) -> Result<()> {
        let path = self.dir.join(id);
        // Only files inside the library may be deleted through it.
        let canon = path
            .canonicalize()
            .map_err(|e| Error::io(e, path.display()))?;
        let root = self
            .dir
            .canonicalize()
            .map_err(|e| Error::io(e, self.dir.display()))?;
        if !canon.starts_with(&root) {
            return Err(Error::new(
                Code::InputInvalid,
                format!("{id} is not in the library"),
            ));
        }
        std::fs::remove_file(&canon).map_err(|e| Error::io(e, canon.display()))
    }
}
