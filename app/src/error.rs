//! The error every server function returns: a stable code and a sentence for a person.

use serde::{Deserialize, Serialize};
use server_fn::codec::JsonEncoding;
use server_fn::error::{FromServerFnError, ServerFnErrorErr};

/// An error the UI can show as it is. `code` is stable; `message` is written for people.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{message}")]
pub struct AppError {
    pub code: String,
    pub message: String,
}

impl AppError {
    /// Builds an error from a stable code and a human sentence.
    pub fn new(code: impl Into<String>, message: impl Into<String>) -> Self {
        AppError {
            code: code.into(),
            message: message.into(),
        }
    }

    /// The caller is not signed in.
    pub fn unauthenticated() -> Self {
        AppError::new("unauthenticated", "Please log in to continue.")
    }
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        let message = match value {
            ServerFnErrorErr::Request(_) | ServerFnErrorErr::Response(_) => {
                "The server could not be reached. Check your connection and try again."
            }
            _ => "Something went wrong talking to the server. Please try again.",
        };
        AppError::new("request_failed", message)
    }
}
