//! Associates sign in with staff id and PIN, verified offline against argon2id hashes that
//! central issued.
//!
//! Wrong PINs are counted per staff id on this device; after [`MAX_FAILURES`] the account is
//! locked here for [`LOCKOUT`]. An unknown staff id costs the same hash as a known one, so
//! timing does not tell which ids exist. PINs are never stored or logged.

use std::sync::OnceLock;
use std::time::{Duration, SystemTime};

use argon2::{Argon2, PasswordHash, PasswordVerifier};
use rusqlite::{Connection, OptionalExtension, Transaction, params};

use crate::api::{ErrorCode, SessionInfo};
use crate::contract::{AssociateRecord, Role};
use crate::error::{Error, Result};
use crate::time;

pub const MAX_FAILURES: i64 = 5;
pub const LOCKOUT: Duration = Duration::from_secs(5 * 60);

/// A hash of a PIN nobody has, verified when the staff id is unknown.
fn decoy_hash() -> &'static str {
    static DECOY: OnceLock<String> = OnceLock::new();
    DECOY.get_or_init(|| {
        use argon2::PasswordHasher;
        let salt = argon2::password_hash::SaltString::from_b64("ZGVjb3lzYWx0ZGVjb3k").unwrap();
        let pin = uuid::Uuid::new_v4().to_string();
        Argon2::default()
            .hash_password(pin.as_bytes(), &salt)
            .map(|h| h.to_string())
            .unwrap()
    })
}

/// Replaces the associates with central's list.
pub fn replace_associates(tx: &Transaction<'_>, list: &[AssociateRecord]) -> Result<()> {
    tx.execute("DELETE FROM associates", [])?;
    let mut insert = tx.prepare_cached(
        "INSERT INTO associates (staff_id, display_name, role, pin_hash) VALUES (?1, ?2, ?3, ?4)",
    )?;
    for a in list {
        insert.execute(params![
            a.staff_id,
            a.display_name,
            role_text(a.role),
            a.pin_hash
        ])?;
    }
    Ok(())
}

pub fn role_text(role: Role) -> &'static str {
    match role {
        Role::Associate => "associate",
        Role::Lead => "lead",
        Role::Manager => "manager",
    }
}

fn role_from(text: &str) -> Role {
    match text {
        "manager" => Role::Manager,
        "lead" => Role::Lead,
        _ => Role::Associate,
    }
}

/// Verifies `pin` for `staff_id`.
///
/// # Failure
/// [`ErrorCode::AccountLocked`] while locked, [`ErrorCode::BadPin`] for an unknown id or a
/// wrong PIN (the same message for both), [`ErrorCode::Invalid`] for an empty id or PIN.
pub fn sign_in(conn: &mut Connection, staff_id: &str, pin: &str) -> Result<SessionInfo> {
    let staff_id = staff_id.trim();
    if staff_id.is_empty() || pin.is_empty() {
        return Err(Error::refused(
            ErrorCode::Invalid,
            "enter your staff id and your PIN",
        ));
    }
    let locked_until: Option<String> = conn
        .query_row(
            "SELECT locked_until FROM sign_in_failures WHERE staff_id = ?1",
            [staff_id],
            |r| r.get(0),
        )
        .optional()?
        .flatten();
    if let Some(until) = locked_until.filter(|u| u.as_str() > time::now_rfc3339().as_str()) {
        return Err(Error::refused(
            ErrorCode::AccountLocked,
            format!(
                "too many wrong PINs: staff id {staff_id} is locked until {until}; ask a manager"
            ),
        ));
    }
    let row: Option<(String, String, String)> = conn
        .query_row(
            "SELECT display_name, role, pin_hash FROM associates WHERE staff_id = ?1",
            [staff_id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?;
    let hash = row.as_ref().map_or(decoy_hash(), |(_, _, h)| h.as_str());
    let verified = PasswordHash::new(hash).is_ok_and(|parsed| {
        Argon2::default()
            .verify_password(pin.as_bytes(), &parsed)
            .is_ok()
    });

    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    match row {
        Some((display_name, role, _)) if verified => {
            tx.execute(
                "DELETE FROM sign_in_failures WHERE staff_id = ?1",
                [staff_id],
            )?;
            tx.commit()?;
            Ok(SessionInfo {
                staff_id: staff_id.to_owned(),
                display_name,
                role: role_from(&role),
            })
        }
        _ => {
            let failures: i64 = tx.query_row(
                "INSERT INTO sign_in_failures (staff_id, failures) VALUES (?1, 1)
                     ON CONFLICT (staff_id) DO UPDATE SET failures = failures + 1
                     RETURNING failures",
                [staff_id],
                |r| r.get(0),
            )?;
            if failures >= MAX_FAILURES {
                let until = time::rfc3339(SystemTime::now() + LOCKOUT);
                tx.execute(
                    "UPDATE sign_in_failures SET failures = 0, locked_until = ?2
                     WHERE staff_id = ?1",
                    params![staff_id, until],
                )?;
            }
            tx.commit()?;
            tracing::warn!(staff = staff_id, failures, "sign-in refused");
            Err(Error::refused(
                ErrorCode::BadPin,
                "that staff id and PIN do not match; try again (5 wrong tries lock it for 5 \
                 minutes)",
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use argon2::PasswordHasher;
    use argon2::password_hash::SaltString;

    fn replica() -> (tempfile::TempDir, crate::replica::Replica) {
        let dir = tempfile::tempdir().unwrap();
        let replica = crate::replica::Replica::open(&dir.path().join("r.sqlite3")).unwrap();
        (dir, replica)
    }

    fn record(staff_id: &str, pin: &str) -> AssociateRecord {
        let salt = SaltString::from_b64("c3RvcmVoYW5kdGVzdA").unwrap();
        let hash = Argon2::default()
            .hash_password(pin.as_bytes(), &salt)
            .unwrap()
            .to_string();
        AssociateRecord {
            staff_id: staff_id.into(),
            display_name: "Ana".into(),
            role: Role::Associate,
            pin_hash: hash,
        }
    }

    #[test]
    fn the_right_pin_signs_in_and_five_wrong_ones_lock_the_account() {
        let (_dir, mut replica) = replica();
        replica
            .write(|w| replace_associates(w.tx(), &[record("1001", "1234")]))
            .unwrap();
        let conn = replica.conn_mut();
        assert_eq!(sign_in(conn, "1001", "1234").unwrap().display_name, "Ana");
        for _ in 0..5 {
            assert_eq!(
                sign_in(conn, "1001", "9999").unwrap_err().code(),
                ErrorCode::BadPin
            );
        }
        assert_eq!(
            sign_in(conn, "1001", "1234").unwrap_err().code(),
            ErrorCode::AccountLocked
        );
    }

    #[test]
    fn an_unknown_staff_id_gets_the_same_refusal_as_a_wrong_pin() {
        let (_dir, mut replica) = replica();
        let conn = replica.conn_mut();
        assert_eq!(
            sign_in(conn, "4242", "1234").unwrap_err().code(),
            ErrorCode::BadPin
        );
        assert_eq!(
            sign_in(conn, "", "1234").unwrap_err().code(),
            ErrorCode::Invalid
        );
    }
}
