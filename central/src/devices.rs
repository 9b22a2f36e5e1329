//! Device bearer tokens.
//!
//! A device enrols with its store (see [`crate::enrollment`]) and gets a device id and a
//! bearer token: 32 bytes from the operating system's random source, written `shd1_` and 64
//! hex digits. Central keeps only the token's BLAKE2b-256 hash, so a copy of the database lets
//! nobody act as a device; a token is looked up by its hash, which also keeps the comparison
//! free of timing leaks about the token. Tokens are never logged.

use argon2::password_hash::rand_core::{OsRng, RngCore};
use blake2::digest::consts::U32;
use blake2::{Blake2b, Digest};
use rusqlite::{Connection, OptionalExtension};
use uuid::Uuid;

use crate::error::{Error, Result};

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

/// A fresh device token.
pub fn new_token() -> String {
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("shd1_{hex}")
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
    use crate::{db, enrollment, stores};
    use storehand::contract::Enrollment;

    #[test]
    fn an_issued_token_authenticates_and_only_its_hash_is_stored() {
        let dir = tempfile::tempdir().unwrap();
        let mut conn = db::open(&dir.path().join("c.sqlite3")).unwrap();
        db::write(&mut conn, |tx| stores::create(tx, "s1", "Store 1")).unwrap();
        let code = db::write(&mut conn, |tx| enrollment::issue(tx, "s1", None)).unwrap();
        let enrol = Enrollment {
            code: code.code,
            device_name: "counter-1".into(),
        };
        let grant = db::write(&mut conn, |tx| enrollment::enrol(tx, &enrol)).unwrap();
        assert!(grant.token.starts_with("shd1_") && grant.token.len() == 69);

        let who = authenticate(&conn, &grant.token).unwrap().unwrap();
        assert_eq!(
            who,
            DeviceIdentity {
                device_id: grant.device_id,
                store_id: "s1".into()
            }
        );
        assert_eq!(authenticate(&conn, "shd1_guess").unwrap(), None);
        let stored: String = conn
            .query_row("SELECT token_hash FROM devices", [], |r| r.get(0))
            .unwrap();
        assert_ne!(stored, grant.token);
        assert!(!stored.contains(&grant.token[5..]));
    }
}
