//! Orders the platform creates for stores, their cancellation, and each store's order feed.
//!
//! Creating an order appends `order_created` to its store's feed; cancelling appends
//! `order_cancelled`. Feed positions (`seq`) come from one AUTOINCREMENT sequence shared by all
//! stores, so within a store they strictly increase and are never reused, and because writers
//! take turns (IMMEDIATE transactions) a reader never sees a later seq before an earlier one.

use std::path::Path;

use rusqlite::{Connection, OptionalExtension, Transaction, params};
use serde::Serialize;
use storehand::contract::{FeedBody, FeedItem, OrderFeedPage, OrderSpec};
use storehand::gtin::Gtin;

use crate::check;
use crate::error::{Error, Result};
use crate::pickup::PickupCode;
use storehand::time;

/// The most lines one order may have.
pub const MAX_LINES: usize = 500;
/// The most units of one line.
pub const MAX_QUANTITY: u32 = 9999;

/// Checks everything about `spec` that needs no database.
///
/// # Failure
/// A refusal (HTTP 422) naming the first field that is wrong.
pub fn validate(spec: &OrderSpec) -> Result<()> {
    check::identifier("platform_order_id", &spec.platform_order_id)?;
    check::identifier("order_number", &spec.order_number)?;
    check::store_id(&spec.store_id)?;
    check::text("customer_name", &spec.customer_name)?;
    match PickupCode::parse(&spec.pickup_code) {
        Ok(code) if code.as_str() == spec.pickup_code => {}
        Ok(code) => {
            return Err(Error::invalid(
                "invalid_pickup_code",
                format!("write the pickup code in its canonical form, {code}"),
            ));
        }
        Err(err) => return Err(Error::invalid("invalid_pickup_code", err.to_string())),
    }
    time::parse_rfc3339(&spec.placed_at)
        .map_err(|e| Error::invalid("invalid_time", format!("placed_at: {e}")))?;
    if spec.lines.is_empty() {
        return Err(Error::invalid(
            "invalid_order",
            "an order needs at least one line",
        ));
    }
    if spec.lines.len() > MAX_LINES {
        return Err(Error::invalid(
            "invalid_order",
            format!(
                "an order has at most {MAX_LINES} lines; this one has {}",
                spec.lines.len()
            ),
        ));
    }
    let mut line_ids = std::collections::HashSet::new();
    for line in &spec.lines {
        check::identifier("line_id", &line.line_id)?;
        if !line_ids.insert(line.line_id.as_str()) {
            return Err(Error::invalid(
                "invalid_order",
                format!(
                    "line id {:?} appears twice; line ids are unique in an order",
                    line.line_id
                ),
            ));
        }
        let at = |message: String| format!("line {}: {message}", line.line_id);
        if line.gtin14.len() != 14 {
            let hint = Gtin::parse(&line.gtin14)
                .map(|g| format!("; send {}", g.gtin14()))
                .unwrap_or_default();
            return Err(Error::invalid(
                "invalid_gtin",
                at(format!(
                    "gtin14 must have 14 digits, {:?} has {}{hint}",
                    line.gtin14,
                    line.gtin14.len()
                )),
            ));
        }
        Gtin::parse(&line.gtin14).map_err(|e| Error::invalid("invalid_gtin", at(e.to_string())))?;
        check::text("line name", &line.name)
            .map_err(|e| Error::invalid("invalid_order", at(e.to_string())))?;
        if line.quantity == 0 || line.quantity > MAX_QUANTITY {
            return Err(Error::invalid(
                "invalid_quantity",
                at(format!(
                    "quantity {} is not 1 to {MAX_QUANTITY}",
                    line.quantity
                )),
            ));
        }
    }
    Ok(())
}

/// Creates the order `spec` and appends `order_created` to its store's feed.
///
/// # Failure
/// The refusals of [`validate`]; `unknown_store` (422) when the store does not exist;
/// `duplicate_order` (409) for a platform order id or an order number already in use.
pub fn create(tx: &Transaction<'_>, spec: &OrderSpec) -> Result<FeedItem> {
    validate(spec)?;
    let store_known = tx
        .prepare_cached("SELECT 1 FROM stores WHERE store_id = ?1")?
        .exists([&spec.store_id])?;
    if !store_known {
        return Err(Error::invalid(
            "unknown_store",
            format!(
                "there is no store {:?}; create it before sending it orders",
                spec.store_id
            ),
        ));
    }
    let taken: Option<String> = tx
        .query_row(
            "SELECT store_id FROM orders WHERE platform_order_id = ?1",
            [&spec.platform_order_id],
            |r| r.get(0),
        )
        .optional()?;
    if taken.is_some() {
        return Err(Error::conflict(
            "duplicate_order",
            format!(
                "order {} already exists; platform order ids are unique",
                spec.platform_order_id
            ),
        ));
    }
    let number_owner: Option<String> = tx
        .query_row(
            "SELECT platform_order_id FROM orders WHERE store_id = ?1 AND order_number = ?2",
            params![spec.store_id, spec.order_number],
            |r| r.get(0),
        )
        .optional()?;
    if let Some(owner) = number_owner {
        return Err(Error::conflict(
            "duplicate_order",
            format!(
                "order number {} is already used in store {} by order {owner}",
                spec.order_number, spec.store_id
            ),
        ));
    }

    let spec_json = serde_json::to_string(spec)
        .map_err(|e| Error::Internal(format!("an order does not serialise: {e}")))?;
    tx.execute(
        "INSERT INTO orders (platform_order_id, store_id, order_number, spec)
         VALUES (?1, ?2, ?3, ?4)",
        params![
            spec.platform_order_id,
            spec.store_id,
            spec.order_number,
            spec_json
        ],
    )?;
    let item = append(
        tx,
        &spec.store_id,
        &spec.platform_order_id,
        FeedBody::OrderCreated {
            order: spec.clone(),
        },
    )?;
    tracing::info!(
        order = %spec.platform_order_id,
        store = %spec.store_id,
        seq = item.seq,
        lines = spec.lines.len(),
        "order created"
    );
    Ok(item)
}

/// A cancellation as the platform sends it.
#[derive(Debug, Clone)]
pub struct Cancellation<'a> {
    pub platform_order_id: &'a str,
    pub cancel_id: &'a str,
    pub reason: &'a str,
    /// RFC 3339.
    pub at: &'a str,
}

/// Cancels an order and appends `order_cancelled` to its store's feed.
///
/// # Failure
/// `unknown_order` (404); `already_cancelled` or `already_handed_over` (409) when the order is
/// past cancelling, judged by the events central stored; refusals for an empty reason or an
/// `at` that is not RFC 3339.
pub fn cancel(tx: &Transaction<'_>, c: &Cancellation<'_>) -> Result<FeedItem> {
    check::text("reason", c.reason)?;
    check::identifier("cancel_id", c.cancel_id)?;
    time::parse_rfc3339(c.at).map_err(|e| Error::invalid("invalid_time", e.to_string()))?;
    let order = find(tx, c.platform_order_id)?.ok_or_else(|| unknown_order(c.platform_order_id))?;
    if let Some((cancel_id, at)) = &order.cancelled {
        return Err(Error::conflict(
            "already_cancelled",
            format!(
                "order {} was already cancelled at {at} (cancel {cancel_id})",
                c.platform_order_id
            ),
        ));
    }
    let handed_over: Option<(String, String)> = tx
        .query_row(
            "SELECT event_id, received_at FROM events
             WHERE platform_order_id = ?1 AND kind = 'order_handed_over'",
            [c.platform_order_id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    if let Some((event_id, at)) = handed_over {
        return Err(Error::conflict(
            "already_handed_over",
            format!(
                "order {} was handed over to the customer (event {event_id}, received {at}); \
                 it can no longer be cancelled: take it back as a return",
                c.platform_order_id
            ),
        ));
    }
    let cancel_id_used = tx
        .prepare_cached("SELECT 1 FROM orders WHERE cancel_id = ?1")?
        .exists([c.cancel_id])?;
    if cancel_id_used {
        return Err(Error::conflict(
            "duplicate_cancel_id",
            format!(
                "cancel id {} was already used for another order",
                c.cancel_id
            ),
        ));
    }

    tx.execute(
        "UPDATE orders SET cancel_id = ?2, cancelled_at = ?3 WHERE platform_order_id = ?1",
        params![c.platform_order_id, c.cancel_id, c.at],
    )?;
    let body = FeedBody::OrderCancelled {
        platform_order_id: c.platform_order_id.to_owned(),
        cancel_id: c.cancel_id.to_owned(),
        reason: c.reason.to_owned(),
        at: c.at.to_owned(),
    };
    let item = append(tx, &order.store_id, c.platform_order_id, body)?;
    tracing::info!(
        order = c.platform_order_id,
        seq = item.seq,
        "order cancelled"
    );
    Ok(item)
}

fn unknown_order(platform_order_id: &str) -> Error {
    Error::not_found(
        "unknown_order",
        format!("there is no order {platform_order_id:?}"),
    )
}

/// An order as central holds it.
#[derive(Debug, Clone)]
pub struct StoredOrder {
    pub store_id: String,
    pub spec: OrderSpec,
    /// The cancel id and time when the platform cancelled it.
    pub cancelled: Option<(String, String)>,
}

/// The order `platform_order_id`, if it exists.
pub fn find(conn: &Connection, platform_order_id: &str) -> Result<Option<StoredOrder>> {
    let mut stmt = conn.prepare_cached(
        "SELECT store_id, spec, cancel_id, cancelled_at FROM orders WHERE platform_order_id = ?1",
    )?;
    let row: Option<(String, String, Option<String>, Option<String>)> = stmt
        .query_row([platform_order_id], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })
        .optional()?;
    row.map(|(store_id, spec, cancel_id, cancelled_at)| {
        let spec: OrderSpec = serde_json::from_str(&spec).map_err(|e| {
            Error::Internal(format!("order {platform_order_id} in the database: {e}"))
        })?;
        Ok(StoredOrder {
            store_id,
            spec,
            cancelled: cancel_id.zip(cancelled_at),
        })
    })
    .transpose()
}

/// Fails unless order `platform_order_id` exists.
pub fn require(conn: &Connection, platform_order_id: &str) -> Result<StoredOrder> {
    find(conn, platform_order_id)?.ok_or_else(|| unknown_order(platform_order_id))
}

fn append(
    tx: &Transaction<'_>,
    store_id: &str,
    order_id: &str,
    body: FeedBody,
) -> Result<FeedItem> {
    let json = serde_json::to_string(&body)
        .map_err(|e| Error::Internal(format!("a feed entry does not serialise: {e}")))?;
    tx.execute(
        "INSERT INTO feed (store_id, platform_order_id, body, appended_at) VALUES (?1, ?2, ?3, ?4)",
        params![store_id, order_id, json, time::now_rfc3339()],
    )?;
    Ok(FeedItem {
        seq: tx.last_insert_rowid() as u64,
        body,
    })
}

/// The feed of `store_id` after cursor `after`, at most `limit` items.
pub fn feed_page(
    conn: &Connection,
    store_id: &str,
    after: u64,
    limit: u32,
) -> Result<OrderFeedPage> {
    let mut stmt = conn.prepare_cached(
        "SELECT seq, body FROM feed WHERE store_id = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3",
    )?;
    let rows = stmt.query_map(params![store_id, after as i64, i64::from(limit)], |r| {
        Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?))
    })?;
    let mut items = Vec::new();
    for row in rows {
        let (seq, body) = row?;
        let body: FeedBody = serde_json::from_str(&body)
            .map_err(|e| Error::Internal(format!("feed entry {seq} in the database: {e}")))?;
        items.push(FeedItem {
            seq: seq as u64,
            body,
        });
    }
    let next_cursor = items.last().map_or(after, |item| item.seq);
    Ok(OrderFeedPage { items, next_cursor })
}

/// What loading a file of feed entries did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Loaded {
    pub created: u64,
    pub cancelled: u64,
    /// Entries already in central with the same content (a file loaded twice).
    pub already_present: u64,
}

/// Reads a JSON Lines file of [`FeedBody`] entries (blank lines allowed), with line numbers.
///
/// # Failure
/// [`Error::Io`] when unreadable; a refusal naming the first line that is not a feed entry.
pub fn read_jsonl(path: &Path) -> Result<Vec<(usize, FeedBody)>> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    let mut entries = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let body = serde_json::from_str(line).map_err(|e| {
            Error::bad_request(
                "malformed_json",
                format!(
                    "{} line {}: not an order_created or order_cancelled entry: {e}",
                    path.display(),
                    i + 1
                ),
            )
        })?;
        entries.push((i + 1, body));
    }
    Ok(entries)
}

/// Appends feed `entries` (with their line numbers, for messages) to their stores' feeds. An
/// entry central already holds with the same content is skipped, so loading a file twice
/// changes nothing.
///
/// # Failure
/// The first entry's refusal, prefixed with its line; the caller's transaction then rolls back
/// every entry.
pub fn load(tx: &Transaction<'_>, entries: &[(usize, FeedBody)]) -> Result<Loaded> {
    let mut loaded = Loaded::default();
    for (line, body) in entries {
        let at_line = |err: Error| match err {
            Error::Refused {
                kind,
                code,
                message,
            } => Error::Refused {
                kind,
                code,
                message: format!("line {line}: {message}"),
            },
            other => other,
        };
        match body {
            FeedBody::OrderCreated { order } => match find(tx, &order.platform_order_id)? {
                Some(stored) if stored.spec == *order => loaded.already_present += 1,
                Some(_) => {
                    return Err(at_line(Error::conflict(
                        "duplicate_order",
                        format!(
                            "order {} already exists with different content",
                            order.platform_order_id
                        ),
                    )));
                }
                None => {
                    create(tx, order).map_err(at_line)?;
                    loaded.created += 1;
                }
            },
            FeedBody::OrderCancelled {
                platform_order_id,
                cancel_id,
                reason,
                at,
            } => {
                let stored = find(tx, platform_order_id)?;
                if stored.is_some_and(|o| o.cancelled.is_some_and(|(id, _)| id == *cancel_id)) {
                    loaded.already_present += 1;
                    continue;
                }
                let cancellation = Cancellation {
                    platform_order_id,
                    cancel_id,
                    reason,
                    at,
                };
                cancel(tx, &cancellation).map_err(at_line)?;
                loaded.cancelled += 1;
            }
        }
    }
    Ok(loaded)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{db, stores};
    use storehand::contract::{Fulfilment, OrderLineSpec};

    pub(crate) fn spec(id: &str) -> OrderSpec {
        OrderSpec {
            platform_order_id: id.into(),
            order_number: format!("N-{id}"),
            store_id: "s1".into(),
            fulfilment: Fulfilment::Bopis,
            customer_name: "Rosa Test".into(),
            pickup_code: PickupCode::derive(id).to_string(),
            placed_at: "2026-01-15T09:30:00Z".into(),
            lines: vec![OrderLineSpec {
                line_id: "1".into(),
                gtin14: "04006381333931".into(),
                name: "Pencil".into(),
                quantity: 2,
            }],
        }
    }

    fn refusal(spec: &OrderSpec) -> (&'static str, String) {
        let err = validate(spec).unwrap_err();
        (err.code().unwrap(), err.to_string())
    }

    #[test]
    fn a_valid_order_passes_and_each_bad_field_is_named() {
        assert!(validate(&spec("o1")).is_ok());

        let mut s = spec("o1");
        s.lines[0].gtin14 = "4006381333931".into();
        let (code, message) = refusal(&s);
        assert_eq!(code, "invalid_gtin");
        assert!(message.contains("send 04006381333931"), "{message}");

        let mut s = spec("o1");
        s.lines[0].gtin14 = "04006381333932".into();
        assert_eq!(refusal(&s).0, "invalid_gtin");

        let mut s = spec("o1");
        s.lines[0].quantity = 0;
        assert_eq!(
            refusal(&s),
            (
                "invalid_quantity",
                "line 1: quantity 0 is not 1 to 9999".into()
            )
        );

        let mut s = spec("o1");
        s.lines.clear();
        assert_eq!(refusal(&s).0, "invalid_order");

        let mut s = spec("o1");
        s.pickup_code = "k7qm4rtx".into();
        assert_eq!(
            refusal(&s).1,
            "write the pickup code in its canonical form, K7QM-4RTX"
        );

        let mut s = spec("o1");
        s.placed_at = "yesterday".into();
        assert_eq!(refusal(&s).0, "invalid_time");
    }

    #[test]
    fn the_feed_holds_creation_then_cancellation_and_refuses_a_second_cancel() {
        let dir = tempfile::tempdir().unwrap();
        let mut conn = db::open(&dir.path().join("c.sqlite3")).unwrap();
        db::write(&mut conn, |tx| stores::create(tx, "s1", "Store 1")).unwrap();
        let created = db::write(&mut conn, |tx| create(tx, &spec("o1"))).unwrap();
        let c = Cancellation {
            platform_order_id: "o1",
            cancel_id: "c1",
            reason: "gone",
            at: "2026-01-15T10:00:00Z",
        };
        let cancelled = db::write(&mut conn, |tx| cancel(tx, &c)).unwrap();
        assert!(cancelled.seq > created.seq);

        let page = feed_page(&conn, "s1", 0, 10).unwrap();
        assert_eq!(page.items, [created.clone(), cancelled.clone()]);
        assert_eq!(page.next_cursor, cancelled.seq);
        assert!(
            feed_page(&conn, "s1", page.next_cursor, 10)
                .unwrap()
                .items
                .is_empty()
        );

        let again = Cancellation {
            cancel_id: "c2",
            ..c
        };
        let err = db::write(&mut conn, |tx| cancel(tx, &again)).unwrap_err();
        assert_eq!(err.code(), Some("already_cancelled"));
        let err = db::write(&mut conn, |tx| create(tx, &spec("o1"))).unwrap_err();
        assert_eq!(err.code(), Some("duplicate_order"));
        assert_eq!(
            feed_page(&conn, "s1", 0, 10).unwrap().items.len(),
            2,
            "refusals append nothing"
        );
    }

    #[test]
    fn loading_the_same_entries_twice_changes_nothing_the_second_time() {
        let dir = tempfile::tempdir().unwrap();
        let mut conn = db::open(&dir.path().join("c.sqlite3")).unwrap();
        db::write(&mut conn, |tx| stores::create(tx, "s1", "Store 1")).unwrap();
        let entries = vec![
            (1, FeedBody::OrderCreated { order: spec("o1") }),
            (2, FeedBody::OrderCreated { order: spec("o2") }),
            (
                3,
                FeedBody::OrderCancelled {
                    platform_order_id: "o2".into(),
                    cancel_id: "c2".into(),
                    reason: "gone".into(),
                    at: "2026-01-15T10:00:00Z".into(),
                },
            ),
        ];
        let first = db::write(&mut conn, |tx| load(tx, &entries)).unwrap();
        assert_eq!(
            first,
            Loaded {
                created: 2,
                cancelled: 1,
                already_present: 0
            }
        );
        let second = db::write(&mut conn, |tx| load(tx, &entries)).unwrap();
        assert_eq!(
            second,
            Loaded {
                created: 0,
                cancelled: 0,
                already_present: 3
            }
        );

        let mut bad = spec("o3");
        bad.lines[0].quantity = 0;
        let entries = vec![
            (1, FeedBody::OrderCreated { order: spec("o4") }),
            (2, FeedBody::OrderCreated { order: bad }),
        ];
        let err = db::write(&mut conn, |tx| load(tx, &entries)).unwrap_err();
        assert!(
            err.to_string().starts_with("line 2: line 1: quantity 0"),
            "{err}"
        );
        assert!(
            find(&conn, "o4").unwrap().is_none(),
            "a refused file loads nothing"
        );
    }
}
