//! Device registration and bearer tokens.
//!
//! A device registers with its store and gets a device id and a bearer token: 32 bytes from the
//! operating system's random source, written `shd1_` and 64 hex digits. Central keeps only the
//! token's BLAKE2b-256 hash, so a copy of the database lets nobody act as a device; a token is
//! looked up by its hash, which also keeps the comparison free of timing leaks about the
//! token. Tokens are never logged.

use argon2::password_hash::rand_core::{OsRng, RngCore};
use blake2::digest::consts::U32;
use blake2::{Blake2b, Digest};
use rusqlite::{Connection, OptionalExtension, Transaction, params};
use storehand::contract::DeviceCredentials;
use uuid::Uuid;

use crate::check;
use crate::error::{Error, Result};
use crate::stores;
use storehand::time;

/// The store and id a valid token belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceIdentity {
    pub device_id: Uuid,
    pub store_id: String,
}

/// The hex BLAKE2b-256 hash of `secret`: how tokens (device and admin) are compared.
pub fn secret_hash(secret: &str) -> String {
    let digest = Blake2b::<U32>::digest(secret.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

fn new_token() -> String {
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("shd1_{hex}")
}

/// Registers a device named `device_name` with `store_id`.
///
/// # Failure
/// A not-found refusal for an unknown store; a refusal for an empty or overlong name.
pub fn register(
    tx: &Transaction<'_>,
    store_id: &str,
    device_name: &str,
) -> Result<DeviceCredentials> {
    stores::require(tx, store_id)?;
    check::text("device_name", device_name)?;
    let device_id = Uuid::now_v7();
    let token = new_token();
    tx.execute(
        "INSERT INTO devices (device_id, store_id, device_name, token_hash, registered_at)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![
            device_id.to_string(),
            store_id,
            device_name,
            secret_hash(&token),
            time::now_rfc3339()
        ],
    )?;
    tracing::info!(store = store_id, device = %device_id, "device registered");
    Ok(DeviceCredentials {
        store_id: store_id.to_owned(),
        device_id,
        token,
    })
}

/// The device a bearer token belongs to, or `None` for a token central never issued.
pub fn authenticate(conn: &Connection, token: &str) -> Result<Option<DeviceIdentity>> {
    let mut stmt =
        conn.prepare_cached("SELECT device_id, store_id FROM devices WHERE token_hash = ?1")?;
    let row: Option<(String, String)> = stmt
        .query_row([secret_hash(token)], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    row.map(|(id, store_id)| {
        let device_id = Uuid::parse_str(&id)
            .map_err(|e| Error::Internal(format!("device id {id:?} in the database: {e}")))?;
        Ok(DeviceIdentity {
            device_id,
            store_id,
        })
    })
    .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db;

    #[test]
    fn a_registered_token_authenticates_and_only_its_hash_is_stored() {
        let dir = tempfile::tempdir().unwrap();
        let mut conn = db::open(&dir.path().join("c.sqlite3")).unwrap();
        db::write(&mut conn, |tx| stores::create(tx, "s1", "Store 1")).unwrap();
        let creds = db::write(&mut conn, |tx| register(tx, "s1", "counter-1")).unwrap();
        assert!(creds.token.starts_with("shd1_") && creds.token.len() == 69);

        let who = authenticate(&conn, &creds.token).unwrap().unwrap();
        assert_eq!(
            who,
            DeviceIdentity {
                device_id: creds.device_id,
                store_id: "s1".into()
            }
        );
        assert_eq!(authenticate(&conn, "shd1_guess").unwrap(), None);
        let stored: String = conn
            .query_row("SELECT token_hash FROM devices", [], |r| r.get(0))
            .unwrap();
        assert_ne!(stored, creds.token);
        assert!(!stored.contains(&creds.token[5..]));
    }

    #[test]
    fn registering_with_an_unknown_store_or_no_name_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let mut conn = db::open(&dir.path().join("c.sqlite3")).unwrap();
        let err = db::write(&mut conn, |tx| register(tx, "nowhere", "counter-1")).unwrap_err();
        assert_eq!(err.code(), Some("unknown_store"));
        db::write(&mut conn, |tx| stores::create(tx, "s1", "Store 1")).unwrap();
        let err = db::write(&mut conn, |tx| register(tx, "s1", " ")).unwrap_err();
        assert_eq!(err.code(), Some("invalid_text"));
    }
}
