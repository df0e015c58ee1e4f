//! The one error shape the UI receives: `{code, message}` with a stable code. Engine
//! errors keep their code (`auth.invalid`, `config.unknown_account`…); the shell adds a
//! few of its own for what only a desktop has (`clipboard.*`, `desktop.*`). Messages are
//! the engine's words, which never hold a secret.

use serde::Serialize;
use ts_rs::TS;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct CommandError {
    pub code: String,
    pub message: String,
}

impl CommandError {
    /// The shell's own messages quote other libraries' errors (the opener's names the URL
    /// it launched): redacted like the engine's, so no URL query reaches the UI.
    pub fn new(code: &str, message: impl Into<String>) -> Self {
        CommandError {
            code: code.to_string(),
            message: ferry_core::redact::text(&message.into()).into_owned(),
        }
    }

    /// Bad input from the UI, in the engine's vocabulary.
    pub fn input(code: ferry_core::Code, message: impl Into<String>) -> Self {
        CommandError::new(code.as_str(), message)
    }
}

impl From<ferry_core::Error> for CommandError {
    fn from(e: ferry_core::Error) -> Self {
        CommandError {
            code: e.code.as_str().to_string(),
            message: e.message,
        }
    }
}

impl std::fmt::Display for CommandError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} [{}]", self.message, self.code)
    }
}

pub type CmdResult<T> = Result<T, CommandError>;
