//! Event intake: the store's fulfilment steps, stored exactly once.
//!
//! An event's UUIDv7 `event_id` is its idempotency key (a unique column): the same event
//! pushed again, by a retry or by another device of the store, is acknowledged `duplicate` and
//! changes nothing. Every kind of step is one-shot per order (an order is picked, staged, made
//! ready and handed over once), so a second, different event of the same kind for the same
//! order is also `duplicate`, with a reason naming the first. An event central can never accept
//! (unknown order, another store's order, a cancelled order, lines that are not the order's)
//! is `rejected` with the reason and never stored.
//!
//! A batch is checked and stored in one IMMEDIATE transaction, so two devices pushing the same
//! event at the same moment queue on the write lock and the second sees the first's row. The
//! first stored `order_ready` of an order records that the customer was notified.

use std::collections::HashSet;

use rusqlite::{OptionalExtension, Transaction, params};
use storehand::contract::{
    AckStatus, EventAck, EventBatch, EventBatchResponse, EventBody, StoreEvent,
};
use uuid::Uuid;

use crate::admin::{Notification, OrderEvents, OrderNotifications, StoredEvent};
use crate::check;
use crate::devices::DeviceIdentity;
use crate::error::{Error, Result};
use crate::orders::{self, StoredOrder};
use storehand::time;

/// How far ahead of central's clock an event's time may be before it is refused.
pub const MAX_CLOCK_AHEAD_HOURS: i64 = 24;

/// The most events one batch may carry.
pub const MAX_BATCH: usize = 1000;

/// How central tells a customer their order is ready (this reference central only records it).
pub const NOTIFY_CHANNEL: &str = "email";

/// Stores the events of `batch`, pushed to `store_id` by device `via`, and acknowledges each
/// in the batch's order.
///
/// # Failure
/// `batch_too_large` (413) for more than [`MAX_BATCH`] events; [`Error::Storage`] when the
/// database fails, and then nothing of the batch is stored.
pub fn intake(
    tx: &Transaction<'_>,
    store_id: &str,
    via: &DeviceIdentity,
    batch: &EventBatch,
) -> Result<EventBatchResponse> {
    if batch.events.len() > MAX_BATCH {
        return Err(Error::refused(
            crate::error::Refusal::TooLarge,
            "batch_too_large",
            format!(
                "a batch carries at most {MAX_BATCH} events, this one has {}; send smaller batches",
                batch.events.len()
            ),
        ));
    }
    let received_at = time::now_rfc3339();
    let mut acks = Vec::with_capacity(batch.events.len());
    for event in &batch.events {
        let ack = match judge(tx, store_id, event)? {
            Verdict::Store => {
                store(tx, event, via, &received_at)?;
                tracing::debug!(
                    event = %event.event_id,
                    kind = event.body.kind(),
                    order = %event.platform_order_id,
                    "event stored"
                );
                EventAck {
                    event_id: event.event_id,
                    status: AckStatus::Stored,
                    reason: None,
                }
            }
            Verdict::Duplicate(reason) => {
                tracing::debug!(event = %event.event_id, %reason, "duplicate event");
                EventAck {
                    event_id: event.event_id,
                    status: AckStatus::Duplicate,
                    reason: Some(reason),
                }
            }
            Verdict::Reject(reason) => {
                tracing::warn!(
                    event = %event.event_id,
                    kind = event.body.kind(),
                    order = %event.platform_order_id,
                    %reason,
                    "event rejected"
                );
                EventAck {
                    event_id: event.event_id,
                    status: AckStatus::Rejected,
                    reason: Some(reason),
                }
            }
        };
        acks.push(ack);
    }
    Ok(EventBatchResponse { acks })
}

enum Verdict {
    Store,
    Duplicate(String),
    Reject(String),
}

/// Decides what to do with one event, in this order: a known event id (duplicate), a wrong
/// store, a malformed event, an unknown, foreign or cancelled order, a one-shot step the order
/// already has (duplicate), lines that do not fit the order.
fn judge(tx: &Transaction<'_>, store_id: &str, event: &StoreEvent) -> Result<Verdict> {
    let id = event.event_id.to_string();
    let known: Option<(String, String)> = tx
        .prepare_cached("SELECT store_id, received_at FROM events WHERE event_id = ?1")?
        .query_row([&id], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    if let Some((owner, at)) = known {
        if owner != store_id {
            return Ok(Verdict::Reject(format!(
                "event id {id} is already used by an event of another store; give every event \
                 a fresh UUIDv7"
            )));
        }
        return Ok(Verdict::Duplicate(format!(
            "event {id} was already stored at {at}"
        )));
    }
    if event.store_id != store_id {
        return Ok(Verdict::Reject(format!(
            "the event names store {:?} but was sent to store {store_id:?}",
            event.store_id
        )));
    }
    if event.event_id.get_version_num() != 7 {
        return Ok(Verdict::Reject(format!(
            "event id {id} is a version {} UUID; event ids must be UUIDv7",
            event.event_id.get_version_num()
        )));
    }
    let occurred = match time::parse_rfc3339(&event.occurred_at) {
        Ok(ms) => ms,
        Err(e) => return Ok(Verdict::Reject(format!("occurred_at: {e}"))),
    };
    let ahead_hours = (occurred - time::now_ms() as i64) / 3_600_000;
    if ahead_hours >= MAX_CLOCK_AHEAD_HOURS {
        return Ok(Verdict::Reject(format!(
            "occurred_at {} is {ahead_hours} hours ahead of central's clock; set the device's \
             clock right",
            event.occurred_at
        )));
    }
    if let Err(e) = check::identifier("associate_id", &event.associate_id) {
        return Ok(Verdict::Reject(e.to_string()));
    }
    let order_id = &event.platform_order_id;
    let Some(order) = orders::find(tx, order_id)? else {
        return Ok(Verdict::Reject(format!(
            "there is no order {order_id:?} at central"
        )));
    };
    if order.store_id != store_id {
        return Ok(Verdict::Reject(format!(
            "order {order_id} is not an order of store {store_id}"
        )));
    }
    if let Some((cancel_id, at)) = &order.cancelled {
        return Ok(Verdict::Reject(format!(
            "order {order_id} was cancelled by the platform at {at} (cancel {cancel_id}); the \
             cancel wins: put any picked units back"
        )));
    }
    let associate_known = tx
        .prepare_cached("SELECT 1 FROM associates WHERE store_id = ?1 AND staff_id = ?2")?
        .exists(params![store_id, event.associate_id])?;
    if !associate_known {
        return Ok(Verdict::Reject(format!(
            "{:?} is not an associate of store {store_id}",
            event.associate_id
        )));
    }
    let device_known = tx
        .prepare_cached("SELECT 1 FROM devices WHERE store_id = ?1 AND device_id = ?2")?
        .exists(params![store_id, event.device_id.to_string()])?;
    if !device_known {
        return Ok(Verdict::Reject(format!(
            "device {} is not enrolled in store {store_id}",
            event.device_id
        )));
    }

    let kind = event.body.kind();
    let first: Option<String> = tx
        .prepare_cached("SELECT event_id FROM events WHERE platform_order_id = ?1 AND kind = ?2")?
        .query_row(params![order_id, kind], |r| r.get(0))
        .optional()?;
    if let Some(first) = first {
        return Ok(Verdict::Duplicate(format!(
            "order {order_id} already has its {kind} event {first}; it happens once an order"
        )));
    }
    Ok(match body_problem(&order, &event.body) {
        Some(problem) => Verdict::Reject(problem),
        None => Verdict::Store,
    })
}

/// What is wrong with an event's body for `order`, if anything.
fn body_problem(order: &StoredOrder, body: &EventBody) -> Option<String> {
    let order_id = &order.spec.platform_order_id;
    match body {
        EventBody::OrderPicked { lines } => {
            let mut seen = HashSet::new();
            for picked in lines {
                if !seen.insert(picked.line_id.as_str()) {
                    return Some(format!("line {} is reported twice", picked.line_id));
                }
                let Some(line) = order
                    .spec
                    .lines
                    .iter()
                    .find(|l| l.line_id == picked.line_id)
                else {
                    return Some(format!(
                        "line {} is not a line of order {order_id}",
                        picked.line_id
                    ));
                };
                if line.gtin14 != picked.gtin14 {
                    return Some(format!(
                        "line {} of order {order_id} is GTIN {}, not {}",
                        line.line_id, line.gtin14, picked.gtin14
                    ));
                }
                if picked.quantity > line.quantity {
                    return Some(format!(
                        "line {}: {} picked but {} ordered; put the extra units back and report \
                         the ordered quantity",
                        line.line_id, picked.quantity, line.quantity
                    ));
                }
            }
            // Short picks come with reason codes in a later contract version; until then a
            // picked order reports every line in full.
            let missing: Vec<&str> = order
                .spec
                .lines
                .iter()
                .filter(|l| {
                    !lines
                        .iter()
                        .any(|p| p.line_id == l.line_id && p.quantity == l.quantity)
                })
                .map(|l| l.line_id.as_str())
                .collect();
            (!missing.is_empty()).then(|| {
                format!(
                    "order_picked must report every line of order {order_id} in full; lines {} \
                     are missing or short",
                    missing.join(", ")
                )
            })
        }
        EventBody::OrderStaged { bin } => check::text("bin", bin).err().map(|e| e.to_string()),
        EventBody::OrderReady => None,
        EventBody::OrderHandedOver { collected_by, .. } => collected_by
            .as_deref()
            .and_then(|name| check::text("collected_by", name).err())
            .map(|e| e.to_string()),
    }
}

fn store(tx: &Transaction<'_>, event: &StoreEvent, via: &DeviceIdentity, at: &str) -> Result<()> {
    let json = serde_json::to_string(event)
        .map_err(|e| Error::Internal(format!("an event does not serialise: {e}")))?;
    let id = event.event_id.to_string();
    tx.prepare_cached(
        "INSERT INTO events
             (event_id, store_id, platform_order_id, kind, event, via_device_id, received_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![
        id,
        event.store_id,
        event.platform_order_id,
        event.body.kind(),
        json,
        via.device_id.to_string(),
        at
    ])?;
    if matches!(event.body, EventBody::OrderReady) {
        let notified = tx
            .prepare_cached(
                "INSERT INTO notifications (platform_order_id, event_id, channel, notified_at)
                 VALUES (?1, ?2, ?3, ?4) ON CONFLICT (platform_order_id) DO NOTHING",
            )?
            .execute(params![event.platform_order_id, id, NOTIFY_CHANNEL, at])?;
        if notified == 1 {
            tracing::info!(
                order = %event.platform_order_id,
                channel = NOTIFY_CHANNEL,
                "customer notified: order ready"
            );
        }
    }
    Ok(())
}

/// The events stored for an order, in arrival order.
///
/// # Failure
/// `unknown_order` (404).
pub fn of_order(conn: &rusqlite::Connection, platform_order_id: &str) -> Result<OrderEvents> {
    orders::require(conn, platform_order_id)?;
    let mut stmt = conn.prepare_cached(
        "SELECT arrival, received_at, via_device_id, event FROM events
         WHERE platform_order_id = ?1 ORDER BY arrival",
    )?;
    let rows = stmt.query_map([platform_order_id], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, String>(3)?,
        ))
    })?;
    let mut events = Vec::new();
    for row in rows {
        let (arrival, received_at, via, json) = row?;
        let corrupt =
            |what: String| Error::Internal(format!("event {arrival} in the database: {what}"));
        events.push(StoredEvent {
            arrival: arrival as u64,
            received_at,
            via_device_id: Uuid::parse_str(&via).map_err(|e| corrupt(e.to_string()))?,
            event: serde_json::from_str(&json).map_err(|e| corrupt(e.to_string()))?,
        });
    }
    Ok(OrderEvents {
        platform_order_id: platform_order_id.to_owned(),
        events,
    })
}

/// The "ready" notifications recorded for an order.
///
/// # Failure
/// `unknown_order` (404).
pub fn notifications_of_order(
    conn: &rusqlite::Connection,
    platform_order_id: &str,
) -> Result<OrderNotifications> {
    orders::require(conn, platform_order_id)?;
    let mut stmt = conn.prepare_cached(
        "SELECT event_id, channel, notified_at FROM notifications WHERE platform_order_id = ?1",
    )?;
    let rows = stmt.query_map([platform_order_id], |r| {
        Ok((r.get::<_, String>(0)?, r.get(1)?, r.get(2)?))
    })?;
    let mut notifications = Vec::new();
    for row in rows {
        let (event_id, channel, notified_at) = row?;
        let event_id = Uuid::parse_str(&event_id)
            .map_err(|e| Error::Internal(format!("notification event id {event_id:?}: {e}")))?;
        notifications.push(Notification {
            event_id,
            channel,
            notified_at,
        });
    }
    Ok(OrderNotifications {
        platform_order_id: platform_order_id.to_owned(),
        notifications,
    })
}
