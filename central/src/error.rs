//! Errors of central, documented by the situation that raises them.
//!
//! Two kinds of failure, as everywhere in Storehand. A [`Error::Refused`] is an expected outcome:
//! the input was wrong or does not fit what central holds, nothing changed, and the message says
//! what to do. It carries a small machine-readable `code` (the `code` of the contract's
//! `ErrorBody`) and a [`Refusal`] the HTTP layer maps to a status. Every other variant is
//! "broken": storage or file trouble, or a bug.

use std::path::PathBuf;

/// The family of a refusal; the HTTP layer answers each with one status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The input cannot be read at all: malformed JSON, a bad query parameter (HTTP 400).
    BadRequest,
    /// No credential, or one central never issued (HTTP 401).
    Unauthenticated,
    /// A valid credential that does not grant this: another store's token, or the admin
    /// endpoints of a server started without an admin token (HTTP 403).
    Forbidden,
    /// The thing named does not exist: a store, an order, an endpoint (HTTP 404).
    NotFound,
    /// The input contradicts what central already holds: a platform order id taken, an order
    /// already cancelled or handed over (HTTP 409).
    Conflict,
    /// The input is well formed but its content is invalid: a bad GTIN, a zero quantity
    /// (HTTP 422).
    Invalid,
    /// The input is larger than central accepts in one request (HTTP 413).
    TooLarge,
}

/// Everything that can go wrong in central.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Raised when an input is refused. Nothing was changed; `message` tells a person what was
    /// wrong and what to do next.
    #[error("{message}")]
    Refused {
        kind: Refusal,
        code: &'static str,
        message: String,
    },
    /// Raised when SQLite fails: a full disk, a locked or corrupt database file.
    #[error("database failure: {0}")]
    Storage(#[from] rusqlite::Error),
    /// Raised when a file cannot be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// Raised when the database was written by a newer `storehand-central` than this one.
    #[error(
        "the database has schema version {found}, newer than this storehand-central knows \
         ({known}); run the newer storehand-central"
    )]
    NewerSchema { found: i64, known: i64 },
    /// Raised when an invariant central relies on does not hold: a bug.
    #[error("internal error: {0}")]
    Internal(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// A refusal of the given family with its code and message.
    pub fn refused(kind: Refusal, code: &'static str, message: impl Into<String>) -> Error {
        Error::Refused {
            kind,
            code,
            message: message.into(),
        }
    }

    /// Input that is well formed but invalid ([`Refusal::Invalid`]).
    pub fn invalid(code: &'static str, message: impl Into<String>) -> Error {
        Error::refused(Refusal::Invalid, code, message)
    }

    /// Input that cannot be read ([`Refusal::BadRequest`]).
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Error {
        Error::refused(Refusal::BadRequest, code, message)
    }

    /// Something named that does not exist ([`Refusal::NotFound`]).
    pub fn not_found(code: &'static str, message: impl Into<String>) -> Error {
        Error::refused(Refusal::NotFound, code, message)
    }

    /// Input contradicting what central holds ([`Refusal::Conflict`]).
    pub fn conflict(code: &'static str, message: impl Into<String>) -> Error {
        Error::refused(Refusal::Conflict, code, message)
    }

    /// A file error with the path it concerns.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Error {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    /// The refusal code, or `None` when this is a failure rather than a refusal.
    pub fn code(&self) -> Option<&'static str> {
        match self {
            Error::Refused { code, .. } => Some(code),
            _ => None,
        }
    }
}
