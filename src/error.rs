//! The core's one error type.
//!
//! Two kinds of failure, kept apart: a *refusal* is an expected outcome a person can act on
//! (wrong item scanned, order cancelled) and carries an [`ErrorCode`] the UI branches on; every
//! other variant means something is broken (the replica cannot be written, central is down).
//! Both reach the UI as an [`ApiError`] with a message that says what happened and what to do.

use crate::api::{ApiError, ErrorCode};

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The input was understood and refused; nothing changed.
    #[error("{message}")]
    Refused { code: ErrorCode, message: String },
    /// SQLite failed to read or write the replica; the transaction was rolled back.
    #[error("the replica could not be read or written: {0}")]
    Storage(#[from] rusqlite::Error),
    /// The replica's schema could not be brought up to date.
    #[error("the replica's schema could not be migrated: {0}")]
    Migration(String),
    /// An Automerge document could not be loaded, changed or saved.
    #[error("document {doc}: {message}")]
    Document { doc: String, message: String },
    /// Central was unreachable, timed out, or answered with an error.
    #[error("{0}")]
    Central(String),
    /// A file or directory of the device's data could not be used.
    #[error("{context}: {source}")]
    Io {
        context: String,
        source: std::io::Error,
    },
}

impl Error {
    /// A refusal with `code` and a message for a person.
    pub fn refused(code: ErrorCode, message: impl Into<String>) -> Error {
        Error::Refused {
            code,
            message: message.into(),
        }
    }

    pub fn code(&self) -> ErrorCode {
        match self {
            Error::Refused { code, .. } => *code,
            Error::Storage(_) | Error::Migration(_) | Error::Document { .. } | Error::Io { .. } => {
                ErrorCode::Storage
            }
            Error::Central(_) => ErrorCode::Central,
        }
    }

    /// True for refusals, false for failures.
    pub fn is_refusal(&self) -> bool {
        matches!(self, Error::Refused { .. })
    }

    pub fn to_api(&self) -> ApiError {
        ApiError {
            code: self.code(),
            message: self.to_string(),
        }
    }

    pub(crate) fn document(doc: impl std::fmt::Display, err: impl std::fmt::Display) -> Error {
        Error::Document {
            doc: doc.to_string(),
            message: err.to_string(),
        }
    }
}

impl From<automerge::AutomergeError> for Error {
    fn from(err: automerge::AutomergeError) -> Error {
        Error::Document {
            doc: "?".into(),
            message: err.to_string(),
        }
    }
}
