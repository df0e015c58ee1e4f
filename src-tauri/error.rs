//! The one error shape the UI receives: `{code, message}` with a stable code.

use serde::Serialize;

#[derive(Debug, Serialize)]
pub struct CommandError {
    pub code: String,
    pub message: String,
}

impl From<ferry_core::Error> for CommandError {
    fn from(e: ferry_core::Error) -> Self {
        CommandError {
            code: e.code.as_str().to_string(),
            message: e.message,
        }
    }
}
