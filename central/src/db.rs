//! Central's one SQLite file: opening it, its migrations, and how writes happen.
//!
//! The file runs in WAL mode with `synchronous = FULL`: an event central has acknowledged must
//! survive a power cut, because the device that pushed it will never send it again. Every write
//! transaction begins IMMEDIATE, taking the write lock up front, so two writers (the server and
//! a command-line import, or two requests) queue on the busy timeout instead of failing halfway
//! with `SQLITE_BUSY` on lock upgrade.
//!
//! Migrations are numbered SQL files in `central/migrations/`, forward only, applied in one
//! transaction; `PRAGMA user_version` counts those applied, and a database newer than this
//! binary is refused rather than misread.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rusqlite::{Connection, Transaction, TransactionBehavior};

use crate::error::{Error, Result};

/// The migrations, in order; `user_version` is the number applied.
const MIGRATIONS: &[(&str, &str)] = &[
    ("001-central", include_str!("../migrations/001-central.sql")),
    (
        "002-enrollment",
        include_str!("../migrations/002-enrollment.sql"),
    ),
];

/// How long a write waits for another writer before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Opens (creating if needed) the database at `path` and brings its schema up to date.
///
/// # Failure
/// [`Error::NewerSchema`] for a database written by a newer central; [`Error::Storage`] when
/// the file cannot be opened or migrated.
pub fn open(path: &Path) -> Result<Connection> {
    let mut conn = Connection::open(path)?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    migrate(&mut conn)?;
    Ok(conn)
}

fn migrate(conn: &mut Connection) -> Result<()> {
    let known = MIGRATIONS.len() as i64;
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let applied: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if applied > known {
        return Err(Error::NewerSchema {
            found: applied,
            known,
        });
    }
    for (name, sql) in &MIGRATIONS[applied as usize..] {
        tracing::info!(migration = name, "applying migration");
        tx.execute_batch(sql)?;
    }
    if applied < known {
        tx.pragma_update(None, "user_version", known)?;
    }
    tx.commit()?;
    Ok(())
}

/// Runs `f` in an IMMEDIATE transaction and commits when it returns `Ok`; an `Err` rolls
/// everything back, so a refused input changes nothing.
pub fn write<T>(conn: &mut Connection, f: impl FnOnce(&Transaction<'_>) -> Result<T>) -> Result<T> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let value = f(&tx)?;
    tx.commit()?;
    Ok(value)
}

/// The server's handle on the database: one connection behind a mutex, used from blocking
/// threads so SQLite never stalls the async runtime.
#[derive(Clone)]
pub struct Db {
    conn: Arc<Mutex<Connection>>,
}

impl Db {
    pub fn new(conn: Connection) -> Db {
        Db {
            conn: Arc::new(Mutex::new(conn)),
        }
    }

    /// Runs `f` with the connection on a blocking thread.
    ///
    /// # Failure
    /// Whatever `f` returns; [`Error::Internal`] when the blocking task panicked (a bug; the
    /// mutex stays usable because a panic inside a transaction rolls it back on drop).
    pub async fn call<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T> + Send + 'static,
    {
        let conn = Arc::clone(&self.conn);
        tokio::task::spawn_blocking(move || {
            let mut guard = conn
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            f(&mut guard)
        })
        .await
        .map_err(|e| Error::Internal(format!("a database task failed: {e}")))?
    }

    /// Runs `f` in an IMMEDIATE transaction on a blocking thread (see [`write`]).
    pub async fn write<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Transaction<'_>) -> Result<T> + Send + 'static,
    {
        self.call(move |conn| write(conn, f)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_database_from_a_newer_central_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("central.sqlite3");
        drop(open(&path).unwrap());
        let conn = Connection::open(&path).unwrap();
        conn.pragma_update(None, "user_version", 99).unwrap();
        drop(conn);
        let err = open(&path).expect_err("a newer schema must be refused");
        assert!(
            matches!(
                err,
                Error::NewerSchema {
                    found: 99,
                    known
                } if known == MIGRATIONS.len() as i64
            ),
            "{err}"
        );
    }

    #[test]
    fn reopening_a_current_database_applies_nothing_and_keeps_data() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("central.sqlite3");
        let mut conn = open(&path).unwrap();
        write(&mut conn, |tx| {
            tx.execute(
                "INSERT INTO stores (store_id, name, created_at)
                 VALUES ('s1', 'Store 1', '2026-01-01T00:00:00Z')",
                [],
            )?;
            Ok(())
        })
        .unwrap();
        drop(conn);
        let conn = open(&path).unwrap();
        let n: i64 = conn
            .query_row("SELECT COUNT(*) FROM stores", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 1);
    }
}
