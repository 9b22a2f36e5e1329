//! Enrollment: how a device joins a store.
//!
//! The platform (or a manager, through `storehand-central enrollment-code`) asks for a
//! one-time code for a store. Whoever types that code into a new device enrols it, once: the
//! device gets its id, its bearer token and the store's sync key, which its peers in the store
//! use to recognise it. A code is 12 characters of the pickup-code alphabet (about 57 bits),
//! valid for 24 hours unless asked otherwise, stored only as its BLAKE2b-256 hash, and never
//! logged. A wrong, used or expired code is refused with a message that says which, and
//! changes nothing.

use std::time::{Duration, SystemTime};

use argon2::password_hash::rand_core::{OsRng, RngCore};
use rusqlite::{OptionalExtension, Transaction, params};
use storehand::contract::{Enrollment, EnrollmentCode, EnrollmentGrant};
use storehand::scan::PICKUP_ALPHABET;
use storehand::time;
use uuid::Uuid;

use crate::devices::{new_token, secret_hash};
use crate::error::{Error, Refusal, Result};
use crate::{check, stores};

/// How long a code is valid when the request does not say.
pub const DEFAULT_VALID_MINUTES: u32 = 24 * 60;
/// The longest validity a code may be given.
pub const MAX_VALID_MINUTES: u32 = 7 * 24 * 60;

/// Issues a one-time enrollment code for `store_id`.
///
/// # Failure
/// `unknown_store` for a store central does not have; `invalid_validity` for a validity of
/// zero or beyond [`MAX_VALID_MINUTES`].
pub fn issue(
    tx: &Transaction<'_>,
    store_id: &str,
    valid_minutes: Option<u32>,
) -> Result<EnrollmentCode> {
    stores::require(tx, store_id)?;
    let minutes = valid_minutes.unwrap_or(DEFAULT_VALID_MINUTES);
    if minutes == 0 || minutes > MAX_VALID_MINUTES {
        return Err(Error::invalid(
            "invalid_validity",
            format!("a code is valid for 1 to {MAX_VALID_MINUTES} minutes, not {minutes}"),
        ));
    }
    let code = new_code();
    let expires_at =
        time::rfc3339(SystemTime::now() + Duration::from_secs(u64::from(minutes) * 60));
    tx.execute(
        "INSERT INTO enrollment_codes (code_hash, store_id, created_at, expires_at)
         VALUES (?1, ?2, ?3, ?4)",
        params![
            secret_hash(&code),
            store_id,
            time::now_rfc3339(),
            expires_at
        ],
    )?;
    tracing::info!(store = store_id, %expires_at, "enrollment code issued");
    Ok(EnrollmentCode {
        store_id: store_id.to_owned(),
        code,
        expires_at,
    })
}

/// Enrols a device with a code, consuming the code.
///
/// # Failure
/// `unknown_enrollment_code` (404) for a code central never issued,
/// `enrollment_code_used` (409) for one already used, `enrollment_code_expired` (409) for one
/// past its time, `invalid_text` (422) for an empty or overlong device name. Nothing changes.
pub fn enrol(tx: &Transaction<'_>, enrollment: &Enrollment) -> Result<EnrollmentGrant> {
    check::text("device_name", &enrollment.device_name)?;
    let code = normalise(&enrollment.code);
    let row: Option<(String, String, Option<String>)> = tx
        .query_row(
            "SELECT store_id, expires_at, used_at FROM enrollment_codes WHERE code_hash = ?1",
            [secret_hash(&code)],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?;
    let Some((store_id, expires_at, used_at)) = row else {
        tracing::warn!("enrollment with an unknown code refused");
        return Err(Error::not_found(
            "unknown_enrollment_code",
            "central never issued this enrollment code; check it for typos, or ask the store \
             manager for a new one",
        ));
    };
    if let Some(used_at) = used_at {
        tracing::warn!(store = %store_id, "enrollment with a used code refused");
        return Err(Error::refused(
            Refusal::Conflict,
            "enrollment_code_used",
            format!(
                "this enrollment code was already used at {used_at}; each code enrols one \
                 device: ask the store manager for a new one"
            ),
        ));
    }
    if expires_at.as_str() <= time::now_rfc3339().as_str() {
        tracing::warn!(store = %store_id, "enrollment with an expired code refused");
        return Err(Error::refused(
            Refusal::Conflict,
            "enrollment_code_expired",
            format!("this enrollment code expired at {expires_at}; ask for a new one"),
        ));
    }

    let device_id = Uuid::now_v7();
    let token = new_token();
    let now = time::now_rfc3339();
    tx.execute(
        "INSERT INTO devices (device_id, store_id, device_name, token_hash, registered_at)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![
            device_id.to_string(),
            store_id,
            enrollment.device_name,
            secret_hash(&token),
            now
        ],
    )?;
    tx.execute(
        "UPDATE enrollment_codes SET used_at = ?2, used_by = ?3 WHERE code_hash = ?1",
        params![secret_hash(&code), now, device_id.to_string()],
    )?;
    let sync_key = sync_key(tx, &store_id)?;
    tracing::info!(store = %store_id, device = %device_id, "device enrolled");
    Ok(EnrollmentGrant {
        store_id,
        device_id,
        token,
        sync_key,
    })
}

/// The store's sync key, made on first use: 32 random bytes as hex.
fn sync_key(tx: &Transaction<'_>, store_id: &str) -> Result<String> {
    let existing: Option<String> = tx.query_row(
        "SELECT sync_key FROM stores WHERE store_id = ?1",
        [store_id],
        |r| r.get(0),
    )?;
    if let Some(key) = existing {
        return Ok(key);
    }
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    let key: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    tx.execute(
        "UPDATE stores SET sync_key = ?2 WHERE store_id = ?1",
        params![store_id, key],
    )?;
    Ok(key)
}

/// A fresh code, `XXXX-XXXX-XXXX`.
fn new_code() -> String {
    let alphabet: Vec<char> = PICKUP_ALPHABET.chars().collect();
    let mut bytes = [0u8; 12];
    OsRng.fill_bytes(&mut bytes);
    let chars: String = bytes
        .iter()
        .map(|b| alphabet[usize::from(*b) % alphabet.len()])
        .collect();
    format!("{}-{}-{}", &chars[..4], &chars[4..8], &chars[8..])
}

/// The code as issued: upper case, with the hyphens, however a person typed it.
fn normalise(code: &str) -> String {
    let compact: String = code
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .map(|c| c.to_ascii_uppercase())
        .collect();
    if compact.len() != 12 || !compact.is_ascii() {
        return compact;
    }
    format!("{}-{}-{}", &compact[..4], &compact[4..8], &compact[8..])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db;

    fn enrollment(code: &str) -> Enrollment {
        Enrollment {
            code: code.into(),
            device_name: "tablet-1".into(),
        }
    }

    #[test]
    fn a_code_enrols_one_device_with_the_stores_sync_key_then_is_spent() {
        let dir = tempfile::tempdir().unwrap();
        let mut conn = db::open(&dir.path().join("c.sqlite3")).unwrap();
        db::write(&mut conn, |tx| stores::create(tx, "s1", "Store 1")).unwrap();
        let first = db::write(&mut conn, |tx| issue(tx, "s1", None)).unwrap();
        let second = db::write(&mut conn, |tx| issue(tx, "s1", Some(5))).unwrap();
        assert_ne!(first.code, second.code);

        let typed = first.code.to_lowercase().replace('-', " ");
        let a = db::write(&mut conn, |tx| enrol(tx, &enrollment(&typed))).unwrap();
        let b = db::write(&mut conn, |tx| enrol(tx, &enrollment(&second.code))).unwrap();
        assert_eq!((a.store_id.as_str(), b.store_id.as_str()), ("s1", "s1"));
        assert_eq!(a.sync_key, b.sync_key, "one sync key a store");
        assert_eq!(a.sync_key.len(), 64);
        assert_ne!(a.device_id, b.device_id);

        let again = db::write(&mut conn, |tx| enrol(tx, &enrollment(&first.code))).unwrap_err();
        assert_eq!(again.code(), Some("enrollment_code_used"));
    }

    #[test]
    fn wrong_expired_and_nameless_enrollments_are_refused_and_change_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let mut conn = db::open(&dir.path().join("c.sqlite3")).unwrap();
        db::write(&mut conn, |tx| stores::create(tx, "s1", "Store 1")).unwrap();
        let code = db::write(&mut conn, |tx| issue(tx, "s1", Some(1))).unwrap();

        let wrong = db::write(&mut conn, |tx| enrol(tx, &enrollment("ACDE-FGHJ-KMNP")));
        assert_eq!(wrong.unwrap_err().code(), Some("unknown_enrollment_code"));
        let nameless = Enrollment {
            code: code.code.clone(),
            device_name: " ".into(),
        };
        let err = db::write(&mut conn, |tx| enrol(tx, &nameless)).unwrap_err();
        assert_eq!(err.code(), Some("invalid_text"));
        let devices: i64 = conn
            .query_row("SELECT COUNT(*) FROM devices", [], |r| r.get(0))
            .unwrap();
        assert_eq!(devices, 0, "refusals enrolled nothing");

        conn.execute(
            "UPDATE enrollment_codes SET expires_at = '2000-01-01T00:00:00.000Z'",
            [],
        )
        .unwrap();
        let expired = db::write(&mut conn, |tx| enrol(tx, &enrollment(&code.code)));
        assert_eq!(expired.unwrap_err().code(), Some("enrollment_code_expired"));
        let unused: i64 = conn
            .query_row(
                "SELECT COUNT(*) FROM enrollment_codes WHERE used_at IS NULL",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(unused, 1, "a refused code is not spent");

        let zero = db::write(&mut conn, |tx| issue(tx, "s1", Some(0))).unwrap_err();
        assert_eq!(zero.code(), Some("invalid_validity"));
        let nowhere = db::write(&mut conn, |tx| issue(tx, "nowhere", None)).unwrap_err();
        assert_eq!(nowhere.code(), Some("unknown_store"));
    }
}
