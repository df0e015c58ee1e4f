//! Starting the desktop app: its logging (stderr, and a log file that is always written,
//! in the platform's log folder, rotated, every line redacted) and what a person sees
//! when Ferry cannot start — a native message box naming the problem and what to do, the
//! same words in the log file, and exit status 2. A release build on Windows has no
//! console and an app started from the Dock or a menu has no terminal: without the box
//! and the file, a damaged database or a missing WebView2 runtime would look like
//! "nothing happens".
//!
//! This module does not decide what is a failure; `lib.rs` calls [`fail`] with it.

use std::io::IsTerminal;

use ferry_core::config::Home;
use ferry_core::logfile::LogFile;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::Layer;

/// When this process started (as near as Rust's `main` can tell): the start-up milestones
/// are logged against it (`FERRY_LOG=ferry_app::startup=debug`), so the start-to-
/// interactive time bench/desktop measures can be split into its parts.
static STARTED: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();

/// Mark the process's start; the first call wins.
pub fn mark_start() {
    STARTED.get_or_init(std::time::Instant::now);
}

/// Log a start-up milestone with the time since [`mark_start`].
pub fn milestone(what: &str) {
    let ms = STARTED.get().map_or(0, |t| t.elapsed().as_millis());
    tracing::debug!(target: "ferry_app::startup", "{what} at {ms} ms");
}

/// The message box's title.
pub const TITLE: &str = "Ferry could not start";

/// Log to stderr and to `home.log_dir` (when there is a home to put it in). Returns the
/// log file, or `None` when it cannot be written (said on stderr; Ferry still starts).
pub fn logging(home: Option<&Home>) -> Option<LogFile> {
    let filter = || {
        EnvFilter::try_from_env("FERRY_LOG")
            .unwrap_or_else(|_| "warn,ferry_app=info,ferry_core=info".into())
    };
    let log = home.and_then(|h| match LogFile::open(&h.log_dir) {
        Ok(log) => Some(log),
        Err(e) => {
            eprintln!(
                "ferry: cannot write the log file in {}: {e}",
                h.log_dir.display()
            );
            None
        }
    });
    // FERRY_LOG may turn on an HTTP library's debug lines, which quote whole URLs: every
    // line, on the terminal and in the file, goes through the redactor.
    let stderr = tracing_subscriber::fmt::layer()
        .with_writer(|| ferry_core::redact::Writer::new(std::io::stderr()))
        .with_ansi(std::io::stderr().is_terminal())
        .with_filter(filter());
    let file = log.clone().map(|log| {
        tracing_subscriber::fmt::layer()
            .with_writer(move || ferry_core::redact::Writer::new(log.writer()))
            .with_ansi(false)
            .with_filter(filter())
    });
    // A second call (tests) keeps the first subscriber.
    let _ = tracing_subscriber::registry()
        .with(stderr)
        .with(file)
        .try_init();
    if let Some(log) = &log {
        tracing::info!(
            "Ferry {} starting; log file {}",
            env!("CARGO_PKG_VERSION"),
            log.path().display()
        );
    }
    log
}

/// Say why Ferry cannot start — in the log, on stderr and in a message box — and exit
/// with status 2 once the box is closed. `problem` names what is wrong and what to do.
pub fn fail(log: Option<&LogFile>, problem: &str) -> ! {
    let problem = ferry_core::redact::text(problem).into_owned();
    tracing::error!("{TITLE}: {problem}");
    let mut text = problem;
    if let Some(log) = log {
        text.push_str(&format!("\n\nDetails are in {}", log.path().display()));
    }
    // Without a console the box is the only thing a person sees; with one, the line
    // above has been printed too.
    message_box(TITLE, &text);
    std::process::exit(2)
}

/// What a failure to make the window says: on Windows the usual cause is a missing
/// WebView2 runtime (Windows 10 without Edge's runtime, or removed by a clean-up tool).
pub fn window_failed(e: &tauri::Error) -> String {
    let mut s = format!("Ferry could not open its window: {e}.");
    if cfg!(windows) {
        s.push_str(
            " This usually means the Microsoft Edge WebView2 Runtime is missing: install \
             it (search \"WebView2 Runtime\" on microsoft.com, or run Ferry's installer \
             again, which installs it), then start Ferry again.",
        );
    } else if cfg!(target_os = "linux") {
        s.push_str(
            " Check that WebKitGTK 4.1 (libwebkit2gtk-4.1) is installed and that a \
             graphical session is running (DISPLAY or WAYLAND_DISPLAY is set).",
        );
    } else {
        s.push_str(" Restart the Mac, or install Ferry again.");
    }
    s
}

/// A native, modal message box; returns when it is closed. Where none can be shown (no
/// graphical session), it returns at once: the log and stderr have the message.
fn message_box(title: &str, text: &str) {
    #[cfg(target_os = "linux")]
    {
        // GTK directly rather than rfd: rfd initialises GTK on a thread of its own and
        // waits forever if that fails (no display), where this returns an error.
        use gtk::prelude::*;
        if gtk::init().is_err() {
            return;
        }
        let dialog = gtk::MessageDialog::new(
            None::<&gtk::Window>,
            gtk::DialogFlags::MODAL,
            gtk::MessageType::Error,
            gtk::ButtonsType::Ok,
            title,
        );
        dialog.set_secondary_text(Some(text));
        dialog.set_title(title);
        dialog.run();
        // SAFETY: the dialog is ours and nothing else refers to it.
        unsafe { dialog.destroy() };
    }
    #[cfg(not(target_os = "linux"))]
    {
        // MessageBoxW on Windows, NSAlert on macOS (run on the main thread, where this is).
        let _ = rfd::MessageDialog::new()
            .set_level(rfd::MessageLevel::Error)
            .set_title(title)
            .set_description(text)
            .set_buttons(rfd::MessageButtons::Ok)
            .show();
    }
}
