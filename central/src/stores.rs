//! Stores, their associates and their stock on hand.
//!
//! Associates' PINs are kept only as argon2id hashes in PHC string form (argon2's default
//! parameters: 19 MiB, 2 passes, 1 lane), which is what devices verify offline. Stock is a
//! snapshot per store with an epoch; a snapshot that changes any level gets a new epoch, so
//! devices know to rebase the movements they recorded against the old one.

use argon2::password_hash::SaltString;
use argon2::password_hash::rand_core::OsRng;
use argon2::{Argon2, PasswordHash, PasswordHasher, PasswordVerifier};
use rusqlite::{Connection, OptionalExtension, Transaction, params};
use storehand::contract::{AssociateList, AssociateRecord, Role, StockLevel, StockSnapshot};

use crate::check;
use crate::error::{Error, Result};
use storehand::time;

/// Creates store `store_id` named `name`; `false` when it already exists (left unchanged).
///
/// # Failure
/// A refusal for an invalid id or name.
pub fn create(tx: &Transaction<'_>, store_id: &str, name: &str) -> Result<bool> {
    check::store_id(store_id)?;
    check::text("store name", name)?;
    let now = time::now_rfc3339();
    let created = tx.execute(
        "INSERT INTO stores (store_id, name, created_at) VALUES (?1, ?2, ?3)
         ON CONFLICT (store_id) DO NOTHING",
        params![store_id, name, now],
    )? == 1;
    if created {
        tx.execute(
            "INSERT INTO stock_epochs (store_id, epoch, taken_at) VALUES (?1, ?2, ?3)",
            params![store_id, uuid::Uuid::now_v7().to_string(), now],
        )?;
        tracing::info!(store = store_id, "store created");
    }
    Ok(created)
}

/// Fails unless store `store_id` exists.
///
/// # Failure
/// A not-found refusal with code `unknown_store`.
pub fn require(conn: &Connection, store_id: &str) -> Result<()> {
    let mut stmt = conn.prepare_cached("SELECT 1 FROM stores WHERE store_id = ?1")?;
    if stmt.exists([store_id])? {
        return Ok(());
    }
    Err(Error::not_found(
        "unknown_store",
        format!("there is no store {store_id:?} at central; check the store id"),
    ))
}

/// What [`put_associate`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AssociateChange {
    Created,
    Updated,
    /// Same name, role and PIN as already stored: nothing was written.
    Unchanged,
}

/// The wire name of a role.
pub fn role_text(role: Role) -> &'static str {
    match role {
        Role::Associate => "associate",
        Role::Lead => "lead",
        Role::Manager => "manager",
    }
}

fn role_from(text: &str) -> Result<Role> {
    match text {
        "associate" => Ok(Role::Associate),
        "lead" => Ok(Role::Lead),
        "manager" => Ok(Role::Manager),
        other => Err(Error::Internal(format!("role {other:?} in the database"))),
    }
}

/// Checks a PIN: 4 to 8 digits.
///
/// # Failure
/// A refusal with code `invalid_pin` that never repeats the PIN.
pub fn check_pin(pin: &str) -> Result<()> {
    if (4..=8).contains(&pin.len()) && pin.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(());
    }
    Err(Error::invalid(
        "invalid_pin",
        "a PIN has 4 to 8 digits and nothing else",
    ))
}

/// The argon2id PHC hash of `pin`, with a fresh random salt.
pub fn hash_pin(pin: &str) -> Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(pin.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| Error::Internal(format!("hashing a PIN failed: {e}")))
}

/// Whether `pin` matches the PHC `hash`.
pub fn pin_matches(pin: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|parsed| {
        Argon2::default()
            .verify_password(pin.as_bytes(), &parsed)
            .is_ok()
    })
}

/// Adds associate `staff_id` to `store_id`, or updates their name, role and PIN.
///
/// # Failure
/// Refusals for an unknown store, an invalid staff id, name or PIN; nothing is written then.
pub fn put_associate(
    tx: &Transaction<'_>,
    store_id: &str,
    staff_id: &str,
    display_name: &str,
    role: Role,
    pin: &str,
) -> Result<AssociateChange> {
    require(tx, store_id)?;
    check::identifier("staff id", staff_id)?;
    check::text("associate name", display_name)?;
    check_pin(pin)?;
    let existing: Option<(String, String, String)> = tx
        .query_row(
            "SELECT display_name, role, pin_hash FROM associates
             WHERE store_id = ?1 AND staff_id = ?2",
            params![store_id, staff_id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?;
    if let Some((name, stored_role, hash)) = &existing
        && name == display_name
        && stored_role == role_text(role)
        && pin_matches(pin, hash)
    {
        return Ok(AssociateChange::Unchanged);
    }
    tx.execute(
        "INSERT INTO associates (store_id, staff_id, display_name, role, pin_hash)
         VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (store_id, staff_id) DO UPDATE SET
             display_name = excluded.display_name, role = excluded.role,
             pin_hash = excluded.pin_hash",
        params![
            store_id,
            staff_id,
            display_name,
            role_text(role),
            hash_pin(pin)?
        ],
    )?;
    tracing::info!(
        store = store_id,
        staff = staff_id,
        role = role_text(role),
        "associate saved"
    );
    Ok(if existing.is_some() {
        AssociateChange::Updated
    } else {
        AssociateChange::Created
    })
}

/// The associates of `store_id` with their PIN hashes, by staff id.
pub fn associates(conn: &Connection, store_id: &str) -> Result<AssociateList> {
    require(conn, store_id)?;
    let mut stmt = conn.prepare_cached(
        "SELECT staff_id, display_name, role, pin_hash FROM associates
         WHERE store_id = ?1 ORDER BY staff_id",
    )?;
    let rows = stmt.query_map([store_id], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get(1)?,
            r.get::<_, String>(2)?,
            r.get(3)?,
        ))
    })?;
    let mut associates = Vec::new();
    for row in rows {
        let (staff_id, display_name, role, pin_hash) = row?;
        associates.push(AssociateRecord {
            staff_id,
            display_name,
            role: role_from(&role)?,
            pin_hash,
        });
    }
    Ok(AssociateList {
        store_id: store_id.to_owned(),
        associates,
    })
}

/// The stock snapshot of `store_id`, levels by GTIN-14.
pub fn stock(conn: &Connection, store_id: &str) -> Result<StockSnapshot> {
    require(conn, store_id)?;
    let epoch: String = conn.query_row(
        "SELECT epoch FROM stock_epochs WHERE store_id = ?1",
        [store_id],
        |r| r.get(0),
    )?;
    let mut stmt = conn
        .prepare_cached("SELECT gtin14, on_hand FROM stock WHERE store_id = ?1 ORDER BY gtin14")?;
    let levels = stmt
        .query_map([store_id], |r| {
            Ok(StockLevel {
                gtin14: r.get(0)?,
                on_hand: r.get(1)?,
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    Ok(StockSnapshot {
        store_id: store_id.to_owned(),
        epoch,
        levels,
    })
}

/// Replaces the stock of `store_id` with `levels` (a full count) and starts a new epoch;
/// `false`, writing nothing, when the levels are those already held.
pub fn replace_stock(tx: &Transaction<'_>, store_id: &str, levels: &[StockLevel]) -> Result<bool> {
    let mut wanted: Vec<&StockLevel> = levels.iter().collect();
    wanted.sort_by(|a, b| a.gtin14.cmp(&b.gtin14));
    let current = stock(tx, store_id)?;
    if current.levels.iter().eq(wanted.iter().copied()) {
        return Ok(false);
    }
    tx.execute("DELETE FROM stock WHERE store_id = ?1", [store_id])?;
    let mut insert =
        tx.prepare_cached("INSERT INTO stock (store_id, gtin14, on_hand) VALUES (?1, ?2, ?3)")?;
    for level in wanted {
        insert.execute(params![store_id, level.gtin14, level.on_hand])?;
    }
    let epoch = uuid::Uuid::now_v7().to_string();
    tx.execute(
        "UPDATE stock_epochs SET epoch = ?2, taken_at = ?3 WHERE store_id = ?1",
        params![store_id, epoch, time::now_rfc3339()],
    )?;
    tracing::info!(store = store_id, %epoch, levels = levels.len(), "stock replaced");
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db;

    #[test]
    fn an_associate_is_created_then_unchanged_then_updated_and_only_the_hash_is_kept() {
        let dir = tempfile::tempdir().unwrap();
        let mut conn = db::open(&dir.path().join("c.sqlite3")).unwrap();
        let put = |conn: &mut Connection, pin: &str| {
            db::write(conn, |tx| {
                put_associate(tx, "s1", "1001", "Ana Souza", Role::Lead, pin)
            })
        };
        db::write(&mut conn, |tx| create(tx, "s1", "Store 1")).unwrap();
        assert_eq!(put(&mut conn, "1234").unwrap(), AssociateChange::Created);
        assert_eq!(put(&mut conn, "1234").unwrap(), AssociateChange::Unchanged);
        assert_eq!(put(&mut conn, "4321").unwrap(), AssociateChange::Updated);

        let list = associates(&conn, "s1").unwrap();
        let hash = &list.associates[0].pin_hash;
        assert!(hash.starts_with("$argon2id$"), "{hash}");
        assert!(pin_matches("4321", hash) && !pin_matches("1234", hash));
    }

    #[test]
    fn bad_pins_and_unknown_stores_are_refused_and_nothing_is_stored() {
        let dir = tempfile::tempdir().unwrap();
        let mut conn = db::open(&dir.path().join("c.sqlite3")).unwrap();
        db::write(&mut conn, |tx| create(tx, "s1", "Store 1")).unwrap();
        for pin in ["12", "12a4", "123456789", ""] {
            let err = db::write(&mut conn, |tx| {
                put_associate(tx, "s1", "1001", "Ana", Role::Associate, pin)
            })
            .unwrap_err();
            assert_eq!(err.code(), Some("invalid_pin"));
            assert!(
                !err.to_string().contains(pin) || pin.is_empty(),
                "a PIN is never echoed"
            );
        }
        let err = db::write(&mut conn, |tx| {
            put_associate(tx, "nowhere", "1001", "Ana", Role::Associate, "1234")
        })
        .unwrap_err();
        assert_eq!(err.code(), Some("unknown_store"));
        assert!(associates(&conn, "s1").unwrap().associates.is_empty());
    }

    #[test]
    fn replacing_stock_with_the_same_levels_keeps_the_epoch() {
        let dir = tempfile::tempdir().unwrap();
        let mut conn = db::open(&dir.path().join("c.sqlite3")).unwrap();
        db::write(&mut conn, |tx| create(tx, "s1", "Store 1")).unwrap();
        let levels = vec![
            StockLevel {
                gtin14: "04006381333931".into(),
                on_hand: 3,
            },
            StockLevel {
                gtin14: "00036000291452".into(),
                on_hand: 0,
            },
        ];
        let first = stock(&conn, "s1").unwrap().epoch;
        assert!(db::write(&mut conn, |tx| replace_stock(tx, "s1", &levels)).unwrap());
        let second = stock(&conn, "s1").unwrap();
        assert_ne!(second.epoch, first);
        assert_eq!(second.levels.len(), 2);
        assert!(!db::write(&mut conn, |tx| replace_stock(tx, "s1", &levels)).unwrap());
        assert_eq!(stock(&conn, "s1").unwrap().epoch, second.epoch);
    }
}
