//! Ferry's one error type: a stable machine `code`, a human message, and the hints the
//! retry policy needs (`retry_after`, whether the request body had already left).
//!
//! Providers map status codes and error bodies into this type; they never decide to
//! retry themselves (see `transfer::retry`). Messages must never contain a secret or a
//! full presigned URL: build them from provider bodies and our own words only.

use std::time::Duration;

/// Stable error codes. The string form (`auth.invalid`) is part of the CLI's JSON
/// contract and the desktop app's `{code, message}`; never rename one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Code {
    AuthInvalid,
    AuthForbidden,
    AuthMissingSecret,
    KeychainUnavailable,
    ConfigInvalid,
    ConfigUnknownAccount,
    ConfigAccountExists,
    InputNotFound,
    InputInvalid,
    InputInvalidFilename,
    InputUnsupportedType,
    InputInvalidUrl,
    InputHtmlPage,
    InputEmpty,
    LimitTooLarge,
    ProviderRateLimited,
    ProviderUnavailable,
    ProviderRejected,
    ProviderNotFound,
    ProviderProcessingFailed,
    ProviderUnsupported,
    ProviderProtocol,
    UploadExpired,
    UploadAmbiguous,
    InputChanged,
    JobPaused,
    JobNotFound,
    HomeInUse,
    JobInterrupted,
    NetworkConnect,
    NetworkReset,
    NetworkTimeout,
    NetworkOffline,
    Cancelled,
    Io,
    DiskFull,
    Internal,
}

impl Code {
    pub const ALL: &'static [Code] = &[
        Code::AuthInvalid,
        Code::AuthForbidden,
        Code::AuthMissingSecret,
        Code::KeychainUnavailable,
        Code::ConfigInvalid,
        Code::ConfigUnknownAccount,
        Code::ConfigAccountExists,
        Code::InputNotFound,
        Code::InputInvalid,
        Code::InputInvalidFilename,
        Code::InputUnsupportedType,
        Code::InputInvalidUrl,
        Code::InputHtmlPage,
        Code::InputEmpty,
        Code::LimitTooLarge,
        Code::ProviderRateLimited,
        Code::ProviderUnavailable,
        Code::ProviderRejected,
        Code::ProviderNotFound,
        Code::ProviderProcessingFailed,
        Code::ProviderUnsupported,
        Code::ProviderProtocol,
        Code::UploadExpired,
        Code::UploadAmbiguous,
        Code::InputChanged,
        Code::JobPaused,
        Code::JobNotFound,
        Code::HomeInUse,
        Code::JobInterrupted,
        Code::NetworkConnect,
        Code::NetworkReset,
        Code::NetworkTimeout,
        Code::NetworkOffline,
        Code::Cancelled,
        Code::Io,
        Code::DiskFull,
        Code::Internal,
    ];

    /// The code for its string form (as stored in the journal).
    pub fn parse(s: &str) -> Option<Code> {
        Code::ALL.iter().copied().find(|c| c.as_str() == s)
    }

    pub fn as_str(self) -> &'static str {
        use Code::*;
        match self {
            AuthInvalid => "auth.invalid",
            AuthForbidden => "auth.forbidden",
            AuthMissingSecret => "auth.missing_secret",
            KeychainUnavailable => "keychain.unavailable",
            ConfigInvalid => "config.invalid",
            ConfigUnknownAccount => "config.unknown_account",
            ConfigAccountExists => "config.account_exists",
            InputNotFound => "input.not_found",
            InputInvalid => "input.invalid",
            InputInvalidFilename => "input.invalid_filename",
            InputUnsupportedType => "input.unsupported_type",
            InputInvalidUrl => "input.invalid_url",
            InputHtmlPage => "input.html_page",
            InputEmpty => "input.empty",
            LimitTooLarge => "limit.too_large",
            ProviderRateLimited => "provider.rate_limited",
            ProviderUnavailable => "provider.unavailable",
            ProviderRejected => "provider.rejected",
            ProviderNotFound => "provider.not_found",
            ProviderProcessingFailed => "provider.processing_failed",
            ProviderUnsupported => "provider.unsupported",
            ProviderProtocol => "provider.protocol",
            UploadExpired => "upload.expired",
            UploadAmbiguous => "upload.ambiguous",
            InputChanged => "input.changed",
            JobPaused => "queue.paused",
            JobNotFound => "queue.not_found",
            HomeInUse => "home.in_use",
            JobInterrupted => "queue.interrupted",
            NetworkConnect => "network.connect",
            NetworkReset => "network.reset",
            NetworkTimeout => "network.timeout",
            NetworkOffline => "network.offline",
            Cancelled => "cancelled",
            Io => "io.error",
            DiskFull => "io.disk_full",
            Internal => "internal",
        }
    }

    /// Errors of setup rather than of one input: the CLI exits 2 for these.
    pub fn is_configuration(self) -> bool {
        matches!(
            self,
            Code::ConfigInvalid
                | Code::ConfigUnknownAccount
                | Code::ConfigAccountExists
                | Code::KeychainUnavailable
                | Code::AuthMissingSecret
                | Code::HomeInUse
        )
    }
}

impl std::fmt::Display for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct Error {
    pub code: Code,
    pub message: String,
    /// The server told us when to come back (Retry-After / X-RateLimit-Reset).
    pub retry_after: Option<Duration>,
    /// The whole request body had been handed to the socket before the failure, so a
    /// non-idempotent create may have landed on the server.
    pub body_sent: bool,
    /// HTTP status when the error came from a response.
    pub status: Option<u16>,
    /// `host:port` of a connection that could not be made: what the offline probe
    /// (`crate::net`) tries until the network is back. Never a path or a query.
    pub peer: Option<String>,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// Every message passes through [`crate::redact::text`]: a URL in it (the one being
    /// fetched, or one a library appended to its own error) shows no query or userinfo.
    pub fn new(code: Code, message: impl Into<String>) -> Self {
        let message = message.into();
        let message = match crate::redact::text(&message) {
            std::borrow::Cow::Borrowed(_) => message,
            std::borrow::Cow::Owned(clean) => clean,
        };
        Error {
            code,
            message,
            retry_after: None,
            body_sent: false,
            status: None,
            peer: None,
        }
    }

    pub fn with_status(mut self, status: u16) -> Self {
        self.status = Some(status);
        self
    }

    pub fn with_retry_after(mut self, after: Option<Duration>) -> Self {
        self.retry_after = after;
        self
    }

    pub fn body_sent(mut self, sent: bool) -> Self {
        self.body_sent = sent;
        self
    }

    /// Prefix the message with where it happened (file, account), keeping the code.
    pub fn context(mut self, what: impl std::fmt::Display) -> Self {
        self.message = crate::redact::text(&format!("{what}: {}", self.message)).into_owned();
        self
    }

    pub fn io(err: std::io::Error, what: impl std::fmt::Display) -> Self {
        // Windows: another program has the file open (still writing it). Not a lasting
        // failure: the job waits and tries again, as for a file that changed.
        if is_sharing_violation(&err) {
            return Error::new(
                Code::InputChanged,
                format!(
                    "{what}: another program has it open (still writing it?); Ferry tries again shortly"
                ),
            );
        }
        let code = match err.kind() {
            std::io::ErrorKind::NotFound => Code::InputNotFound,
            _ => Code::Io,
        };
        Error::new(code, format!("{what}: {err}"))
    }

    pub fn cancelled() -> Self {
        Error::new(Code::Cancelled, "cancelled")
    }

    /// Whether the retry policy may try again. Creates that are not idempotent make
    /// the final call in `transfer::retry`, using `body_sent`.
    pub fn is_transient(&self) -> bool {
        matches!(
            self.code,
            Code::ProviderRateLimited
                | Code::ProviderUnavailable
                | Code::NetworkConnect
                | Code::NetworkReset
                | Code::NetworkTimeout
        )
    }

    /// For a create that is not idempotent: whether it may have taken effect although
    /// it failed. A lost answer after the body left is one case; an answer of 408 or
    /// 5xx is another: gateways and proxies (504, Cloudflare's 524, a 408 from a proxy
    /// that gave up waiting) answer that while the origin goes on and stores it.
    pub fn may_have_landed(&self) -> bool {
        self.body_sent || matches!(self.status, Some(408) | Some(500..=599))
    }

    /// Map a transport error from reqwest. The URL is stripped on purpose: presigned
    /// URLs carry credentials in their query. Nested sources can still name one (the
    /// final URL of a redirect): `Error::new` redacts those.
    pub fn from_reqwest(err: reqwest::Error, body_sent: bool) -> Self {
        // Only the host and port are kept, for the offline probe.
        let peer = err.url().and_then(|u| {
            let host = u.host_str()?;
            let port = u.port_or_known_default()?;
            // An IPv6 host comes bracketed already.
            Some(format!("{host}:{port}"))
        });
        let err = err.without_url();
        let text = chain(&err);
        let code = if err.is_timeout() {
            Code::NetworkTimeout
        } else if err.is_connect() {
            Code::NetworkConnect
        } else if err.is_decode() {
            Code::ProviderProtocol
        } else {
            Code::NetworkReset
        };
        let what = match code {
            Code::NetworkTimeout => "the server did not answer in time",
            Code::NetworkConnect => "could not connect to the server",
            Code::ProviderProtocol => "the server's answer could not be read",
            _ => "the connection was interrupted",
        };
        let mut out = Error::new(code, format!("{what} ({text})")).body_sent(body_sent);
        if code == Code::NetworkConnect {
            out.peer = peer;
        }
        out
    }
}

fn chain(err: &dyn std::error::Error) -> String {
    let mut out = err.to_string();
    let mut cur = err.source();
    while let Some(e) = cur {
        let s = e.to_string();
        if !out.contains(&s) {
            out.push_str(": ");
            out.push_str(&s);
        }
        cur = e.source();
    }
    out
}

impl From<std::io::Error> for Error {
    fn from(err: std::io::Error) -> Self {
        Error::io(err, "i/o error")
    }
}

/// Windows' "the process cannot access the file because another process has it open"
/// (ERROR_SHARING_VIOLATION 32, ERROR_LOCK_VIOLATION 33). Never on other systems, where
/// those numbers mean something else.
pub fn is_sharing_violation(err: &std::io::Error) -> bool {
    cfg!(windows) && matches!(err.raw_os_error(), Some(32 | 33))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_another_program_holds_open_is_retried_on_windows_only() {
        let e = Error::io(std::io::Error::from_raw_os_error(32), "clip.mp4");
        if cfg!(windows) {
            assert_eq!(e.code, Code::InputChanged, "{}", e.message);
            assert!(e.message.contains("another program"), "{}", e.message);
        } else {
            // EPIPE here: a real failure, not a busy file.
            assert_eq!(e.code, Code::Io, "{}", e.message);
        }
    }
}
