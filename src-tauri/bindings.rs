//! TypeScript declarations of every type that crosses IPC, generated with ts-rs into
//! `ui/src/bindings/` (one file per type plus an `index.ts` re-exporting them all). The
//! test `bindings_are_current` regenerates them and fails when the committed files
//! differ, so the UI and the Rust types cannot drift. Only declarations go there.

use std::collections::BTreeMap;
use std::path::Path;

use ts_rs::{Config, TS};

/// Rust integers (job and item ids, byte counts) are JSON numbers well inside 2^53.
const LARGE_INT: &str = "number";

const HEADER: &str = "// Generated from the Rust types by `cargo test -p ferry-app --test tests bindings` (ts-rs).\n// Do not edit: change the Rust type and run that command again.\n";

macro_rules! render_all {
    ($cfg:expr, $out:expr, $($t:ty),+ $(,)?) => {{
        $( render::<$t>($cfg, $out)?; )+
    }};
}

/// Every generated file by name (`Job.ts`, …, `index.ts`) with its contents.
pub fn render_files() -> Result<BTreeMap<String, String>, String> {
    let cfg = Config::new().with_large_int(LARGE_INT);
    let mut out = BTreeMap::new();
    {
        use crate::ipc::*;
        use ferry_core::library::{ItemStatus, LibraryItem, LibraryPage};
        use ferry_core::net::ProxyView;
        use ferry_core::providers::{Kind, MediaStatus, OptionSpec, RemoteMedia};
        use ferry_core::queue::expand::Added;
        use ferry_core::queue::{JobError, SourceKind};
        use ferry_core::transfer::Phase;
        use ferry_core::watch::{After, Existing, Rule, RuleView};
        use ferry_core::{
            AccountView, CopyFormat, Event, Hold, HoldReason, Job, JobCursor, JobPage, JobStatus,
            QueueOrder, QueueSummary,
        };
        render_all!(
            &cfg,
            &mut out,
            crate::CommandError,
            AppInfo,
            DiagnosticsSaved,
            RunnerInfo,
            ProviderInfo,
            Features,
            Settings,
            ProxyView,
            InvalidLine,
            AddUrlsResult,
            Opened,
            LibraryFilter,
            QueuePageRequest,
            WatchOptions,
            Origin,
            QueueAction,
            WatchState,
            ChannelMessage,
            ChannelControl,
            Kind,
            OptionSpec,
            MediaStatus,
            RemoteMedia,
            AccountView,
            Job,
            JobStatus,
            JobError,
            SourceKind,
            Event,
            Added,
            Phase,
            LibraryItem,
            LibraryPage,
            ItemStatus,
            JobPage,
            JobCursor,
            QueueSummary,
            Hold,
            HoldReason,
            ferry_core::queue::bandwidth::BandwidthNow,
            ferry_core::queue::bandwidth::AccountWaiting,
            QueueOrder,
            CopyFormat,
            Rule,
            RuleView,
            Existing,
            After,
        );
    }
    let mut index = String::from(HEADER);
    for name in out.keys() {
        let ty = name.trim_end_matches(".ts");
        index.push_str(&format!("export type {{ {ty} }} from \"./{ty}\";\n"));
    }
    out.insert("index.ts".to_string(), index);
    Ok(out)
}

fn render<T: TS + 'static>(cfg: &Config, out: &mut BTreeMap<String, String>) -> Result<(), String> {
    let name = format!("{}.ts", T::ident(cfg));
    let text = T::export_to_string(cfg).map_err(|e| format!("{name}: {e}"))?;
    out.insert(name, text);
    Ok(())
}

/// Write the generated files into `dir`, removing stale `.ts` files there. Returns the
/// names of the files that changed (added, rewritten or removed).
pub fn write(dir: &Path) -> Result<Vec<String>, String> {
    let files = render_files()?;
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut changed = Vec::new();
    let existing = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    for entry in existing.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.ends_with(".ts") && !files.contains_key(&name) {
            std::fs::remove_file(entry.path()).map_err(|e| format!("{name}: {e}"))?;
            changed.push(name);
        }
    }
    for (name, text) in files {
        let path = dir.join(&name);
        if std::fs::read_to_string(&path).ok().as_deref() != Some(text.as_str()) {
            std::fs::write(&path, text).map_err(|e| format!("{name}: {e}"))?;
            changed.push(name);
        }
    }
    Ok(changed)
}
