//! The device's local replica: one SQLite file holding the Automerge documents, the query
//! tables derived from them, and the read-only copy of what central owns.
//!
//! Every write goes through [`Replica::write`], which opens an IMMEDIATE transaction (so two
//! writers queue on the lock instead of failing with "database is locked" halfway through) and
//! commits the documents and the query tables derived from them together: after a crash both
//! are there or neither is. The database runs in WAL mode with `synchronous = FULL`, so a
//! change is on disk when `write` returns: a confirmed scan survives a power cut.
//!
//! Documents are cached in memory. A write that fails evicts every document it touched, so the
//! cache never holds a change the database rolled back; every access compares the cached
//! copy's version with the stored one, so a second process writing the same file (the CLI
//! beside a running app) is noticed.

use std::collections::{HashMap, HashSet};
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::time::Duration;

use automerge::AutoCommit;
use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior, params};
use rusqlite_migration::{M, Migrations};

use crate::error::{Error, Result};

/// Schema migrations, numbered and forward-only; the index + 1 is the schema version.
const MIGRATIONS: &[&str] = &[
    include_str!("../migrations/01-replica/up.sql"),
    include_str!("../migrations/02-peers/up.sql"),
];

/// Incremental chunks a document may collect before they are replaced by one snapshot.
/// Incremental saves cost about 15× the bytes of snapshot growth per change, so they are
/// compacted, but a snapshot of a large document costs time, so not after every change.
const COMPACT_AFTER_CHUNKS: i64 = 64;

struct CachedDoc {
    version: i64,
    doc: AutoCommit,
    /// Some stored chunk could not be read; the next save rewrites the document whole.
    damaged: bool,
}

pub struct Replica {
    conn: Connection,
    path: PathBuf,
    docs: HashMap<String, CachedDoc>,
}

impl Replica {
    /// Opens (creating if needed) the replica at `path` and brings its schema up to date.
    ///
    /// # Failure
    /// Refuses a replica written by a newer Storehand ([`Error::Migration`] says which versions),
    /// and reports any SQLite error.
    pub fn open(path: &Path) -> Result<Replica> {
        let mut conn = Connection::open(path)?;
        conn.busy_timeout(Duration::from_secs(10))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        migrate(&mut conn, path)?;
        Ok(Replica {
            conn,
            path: path.to_owned(),
            docs: HashMap::new(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Read access to the database for queries that change nothing.
    pub fn conn(&self) -> &Connection {
        &self.conn
    }

    /// Runs `f` in one IMMEDIATE transaction and commits when it returns `Ok`.
    ///
    /// # Failure
    /// When `f` or the commit fails, the transaction rolls back, every document `f` touched is
    /// dropped from the cache, and the error is returned: nothing changed.
    pub fn write<T>(&mut self, f: impl FnOnce(&mut Writer<'_>) -> Result<T>) -> Result<T> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut writer = Writer {
            tx,
            docs: &mut self.docs,
            touched: HashSet::new(),
        };
        let outcome = f(&mut writer);
        let Writer { tx, docs, touched } = writer;
        let outcome = outcome.and_then(|value| tx.commit().map(|()| value).map_err(Error::from));
        if outcome.is_err() {
            for id in touched {
                docs.remove(&id);
            }
        }
        outcome
    }

    /// Write access to tables that hold no documents (sign-in failures).
    pub fn conn_mut(&mut self) -> &mut Connection {
        &mut self.conn
    }

    /// Loads a document for reading, or `None` when there is no such document.
    pub fn read_doc(&mut self, doc_id: &str) -> Result<Option<&mut AutoCommit>> {
        load_cached(&self.conn, &mut self.docs, doc_id)
    }

    /// A value from the `meta` table.
    pub fn meta(&self, key: &str) -> Result<Option<String>> {
        Ok(self
            .conn
            .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
            .optional()?)
    }
}

/// Applies pending migrations, refusing a database newer than this binary.
fn migrate(conn: &mut Connection, path: &Path) -> Result<()> {
    let known = MIGRATIONS.len();
    let found: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    let found = usize::try_from(found).unwrap_or(usize::MAX);
    if found > known {
        return Err(Error::Migration(format!(
            "{} has schema version {found}, but this Storehand knows versions up to {known}: \
             it was written by a newer Storehand; update this device's app instead of opening \
             the replica with an older one",
            path.display()
        )));
    }
    let migrations = Migrations::new(MIGRATIONS.iter().map(|sql| M::up(sql)).collect());
    migrations
        .to_latest(conn)
        .map_err(|e| Error::Migration(e.to_string()))
}

/// The transaction a [`Replica::write`] closure works in.
pub struct Writer<'a> {
    tx: Transaction<'a>,
    docs: &'a mut HashMap<String, CachedDoc>,
    touched: HashSet<String>,
}

impl Writer<'_> {
    pub fn tx(&self) -> &Transaction<'_> {
        &self.tx
    }

    /// Loads a document for changing; `None` when there is no such document.
    pub fn doc(&mut self, doc_id: &str) -> Result<Option<&mut AutoCommit>> {
        self.touched.insert(doc_id.to_owned());
        load_cached(&self.tx, self.docs, doc_id)
    }

    /// Stores a new document. Changing an existing one goes through [`Writer::doc`] and
    /// [`Writer::save_doc`].
    pub fn insert_doc(&mut self, doc_id: &str, kind: &str, mut doc: AutoCommit) -> Result<()> {
        self.touched.insert(doc_id.to_owned());
        let heads = heads_text(&mut doc);
        self.tx.execute(
            "INSERT INTO docs (doc_id, kind, heads, version) VALUES (?1, ?2, ?3, 1)",
            params![doc_id, kind, heads],
        )?;
        let bytes = doc.save();
        self.tx.execute(
            "INSERT INTO doc_chunks (doc_id, seq, bytes) VALUES (?1, 0, ?2)",
            params![doc_id, bytes],
        )?;
        self.docs.insert(
            doc_id.to_owned(),
            CachedDoc {
                version: 1,
                doc,
                damaged: false,
            },
        );
        Ok(())
    }

    /// Appends the document's unsaved changes and returns its heads as stored.
    ///
    /// After [`COMPACT_AFTER_CHUNKS`] incremental chunks the document is rewritten as one
    /// snapshot.
    pub fn save_doc(&mut self, doc_id: &str) -> Result<String> {
        self.touched.insert(doc_id.to_owned());
        let cached = self
            .docs
            .get_mut(doc_id)
            .ok_or_else(|| Error::document(doc_id, "saved before it was loaded"))?;
        let heads = heads_text(&mut cached.doc);
        let (last_seq, count): (i64, i64) = self.tx.query_row(
            "SELECT MAX(seq), COUNT(*) FROM doc_chunks WHERE doc_id = ?1",
            [doc_id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        if count >= COMPACT_AFTER_CHUNKS || cached.damaged {
            // A damaged document is rewritten from what loaded, so the unreadable chunk
            // stops hiding the chunks saved after it.
            cached.damaged = false;
            let bytes = cached.doc.save();
            self.tx
                .execute("DELETE FROM doc_chunks WHERE doc_id = ?1", [doc_id])?;
            self.tx.execute(
                "INSERT INTO doc_chunks (doc_id, seq, bytes) VALUES (?1, ?2, ?3)",
                params![doc_id, last_seq + 1, bytes],
            )?;
        } else {
            let bytes = cached.doc.save_incremental();
            if !bytes.is_empty() {
                self.tx.execute(
                    "INSERT INTO doc_chunks (doc_id, seq, bytes) VALUES (?1, ?2, ?3)",
                    params![doc_id, last_seq + 1, bytes],
                )?;
            }
        }
        cached.version += 1;
        self.tx.execute(
            "UPDATE docs SET heads = ?2, version = ?3 WHERE doc_id = ?1",
            params![doc_id, heads, cached.version],
        )?;
        Ok(heads)
    }

    /// Drops the cached copy of a document, so the next access reads what the database holds.
    /// For a caller that rolls back to a savepoint, or whose change panicked inside Automerge:
    /// the cached copy may hold what the database will not.
    pub fn forget_doc(&mut self, doc_id: &str) {
        self.docs.remove(doc_id);
    }

    pub fn set_meta(&self, key: &str, value: &str) -> Result<()> {
        self.tx.execute(
            "INSERT INTO meta (key, value) VALUES (?1, ?2)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            params![key, value],
        )?;
        Ok(())
    }
}

fn load_cached<'c>(
    conn: &Connection,
    docs: &'c mut HashMap<String, CachedDoc>,
    doc_id: &str,
) -> Result<Option<&'c mut AutoCommit>> {
    let row: Option<(i64, String)> = conn
        .query_row(
            "SELECT version, heads FROM docs WHERE doc_id = ?1",
            [doc_id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    let Some((version, saved_heads)) = row else {
        docs.remove(doc_id);
        return Ok(None);
    };
    let fresh = docs.get(doc_id).is_some_and(|c| c.version == version);
    if !fresh {
        let (doc, damaged) = load_chunks(conn, doc_id, &saved_heads)?;
        docs.insert(
            doc_id.to_owned(),
            CachedDoc {
                version,
                doc,
                damaged,
            },
        );
    }
    Ok(docs.get_mut(doc_id).map(|c| &mut c.doc))
}

/// Rebuilds a document from its stored chunks, in order, and says whether any was unreadable.
///
/// A chunk cut short (a power cut while the disk wrote it) does not make the document start
/// empty: everything before it loads, the loss is reported (logged and recorded in the
/// `quarantine` table), and the caller gets the document as far as it could be read.
///
/// # Failure
/// [`Error::Document`] when Automerge panics on the document (the panic is caught, the
/// document reported and left alone; every other document goes on working).
fn load_chunks(conn: &Connection, doc_id: &str, saved_heads: &str) -> Result<(AutoCommit, bool)> {
    let mut stmt =
        conn.prepare_cached("SELECT seq, bytes FROM doc_chunks WHERE doc_id = ?1 ORDER BY seq")?;
    let chunks: Vec<(i64, Vec<u8>)> = stmt
        .query_map([doc_id], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    let mut doc = AutoCommit::new();
    let mut damaged = false;
    for (seq, chunk) in &chunks {
        let loaded = std::panic::catch_unwind(AssertUnwindSafe(|| doc.load_incremental(chunk)));
        match loaded {
            Ok(Ok(_)) => {}
            Ok(Err(err)) => {
                let lost = chunks.iter().filter(|(s, _)| s >= seq).count();
                let reason = format!(
                    "chunk {seq} is unreadable ({err}); kept what came before it, lost {lost} \
                     chunk(s) of changes"
                );
                report_damage(conn, doc_id, *seq, &reason)?;
                damaged = true;
                break;
            }
            Err(_) => {
                let reason = format!("Automerge panicked loading chunk {seq}");
                report_damage(conn, doc_id, *seq, &reason)?;
                return Err(Error::document(doc_id, format!("quarantined: {reason}")));
            }
        }
    }
    // Automerge skips a change cut short inside a chunk without an error; the heads recorded
    // at the last save tell that something is missing.
    if !damaged && heads_text(&mut doc) != saved_heads {
        let last = chunks.last().map_or(0, |(seq, _)| *seq);
        let reason = "the last saved changes are unreadable (cut short); kept everything before \
                      them";
        report_damage(conn, doc_id, last, reason)?;
        damaged = true;
    }
    // Loading counts as saved: the next incremental save holds only new changes.
    let _ = doc.save_incremental();
    Ok((doc, damaged))
}

/// Records that a document lost changes, once per document and chunk.
fn report_damage(conn: &Connection, doc_id: &str, seq: i64, reason: &str) -> Result<()> {
    tracing::warn!(doc = doc_id, chunk = seq, reason, "document damaged");
    let payload = format!("{doc_id}#{seq}");
    let known: bool = conn
        .prepare_cached("SELECT 1 FROM quarantine WHERE source = 'document' AND payload = ?1")?
        .exists([&payload])?;
    if !known {
        conn.execute(
            "INSERT INTO quarantine (source, reason, payload, at) VALUES ('document', ?1, ?2, ?3)",
            params![reason, payload, crate::time::now_rfc3339()],
        )?;
    }
    Ok(())
}

/// Heads as sorted hex, comma separated: what the query tables record they reflect.
pub fn heads_text(doc: &mut AutoCommit) -> String {
    let mut heads: Vec<String> = doc.get_heads().iter().map(|h| h.to_string()).collect();
    heads.sort();
    heads.join(",")
}
