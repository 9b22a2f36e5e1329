//! Query tables and the outbox, derived from an order's document inside the transaction that
//! changed it.

use std::collections::HashMap;

use rusqlite::params;
use uuid::Uuid;

use super::{not_found, status_text};
use crate::api::OrderStatus;
use crate::contract::{EventBody, Fulfilment, PickedLine, StoreEvent};
use crate::error::{Error, Result};
use crate::order::{self, OrderState, Step};
use crate::replica::Writer;

/// Re-derives an order's query-table rows and outbox entries from its document.
pub(crate) fn refresh_order(w: &mut Writer<'_>, doc_id: &str) -> Result<OrderState> {
    let doc = w.doc(doc_id)?.ok_or_else(|| not_found(doc_id))?;
    let state = order::fold(doc)?;
    let acks: HashMap<Uuid, order::Ack> = order::acked_events(doc)?.into_iter().collect();
    // Steps central answered that a merge has since put behind another device's step in fold
    // order: the answer is in the document, so every device lists them alike.
    let answered: Vec<order::Event> = order::read_events(doc)?
        .into_iter()
        .filter(|e| acks.contains_key(&e.id) && !state.history.iter().any(|h| h.id == e.id))
        .collect();
    let heads = crate::replica::heads_text(doc);
    let tx = w.tx();
    tx.execute(
        "INSERT INTO orders (doc_id, platform_order_id, order_number, customer_name, pickup_code,
                             fulfilment, status, placed_at, units_ordered, units_picked, bin,
                             cancel_reason, heads)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)
         ON CONFLICT (doc_id) DO UPDATE SET status = excluded.status,
             units_picked = excluded.units_picked, bin = excluded.bin,
             cancel_reason = excluded.cancel_reason, heads = excluded.heads",
        params![
            doc_id,
            state.platform_order_id,
            state.order_number,
            state.customer_name,
            state.pickup_code,
            if state.fulfilment == Fulfilment::ShipFromStore {
                "ship_from_store"
            } else {
                "bopis"
            },
            status_text(state.status),
            state.placed_at,
            state.units_ordered(),
            state.units_picked(),
            state.bin,
            state.cancel_reason,
            heads
        ],
    )?;
    let open = !matches!(
        state.status,
        OrderStatus::HandedOver | OrderStatus::Cancelled
    );
    tx.execute("DELETE FROM order_lines WHERE doc_id = ?1", [doc_id])?;
    let mut line_insert = tx.prepare_cached(
        "INSERT INTO order_lines (doc_id, line_id, gtin14, ordered, picked, open)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?;
    for line in &state.lines {
        line_insert.execute(params![
            doc_id,
            line.line_id,
            line.gtin14,
            line.ordered,
            line.picked,
            open
        ])?;
    }

    // The outbox holds exactly the write-back steps the fold applied, and those central has
    // answered; a step that lost to another device's in fold order is not sent.
    let mut keep = Vec::new();
    let mut upsert = tx.prepare_cached(
        "INSERT INTO outbox (event_id, doc_id, platform_order_id, kind, body, created_at, state,
                             acked_at, last_error)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
         ON CONFLICT (event_id) DO UPDATE SET state = excluded.state,
             acked_at = excluded.acked_at,
             last_error = CASE WHEN excluded.state = 'pending' THEN outbox.last_error
                               ELSE excluded.last_error END",
    )?;
    for event in state.history.iter().chain(&answered) {
        let Some(body) = write_back_body(&event.step, &state) else {
            continue;
        };
        let Ok(device_id) = Uuid::parse_str(&event.device) else {
            continue;
        };
        let store_event = StoreEvent {
            event_id: event.id,
            store_id: state.store_id.clone(),
            device_id,
            associate_id: event.associate.clone(),
            occurred_at: event.at.clone(),
            platform_order_id: state.platform_order_id.clone(),
            body,
        };
        let json = serde_json::to_string(&store_event)
            .map_err(|e| Error::document(doc_id, format!("event body: {e}")))?;
        // Once central answered, the answer's reason (why a duplicate, why rejected) is what
        // a person needs to see, not an old "unreachable" from a retry.
        let (ack_state, acked_at, reason) = match acks.get(&event.id) {
            Some(ack) => (
                ack.status.as_str(),
                Some(ack.at.as_str()),
                ack.reason.as_deref(),
            ),
            None => ("pending", None, None),
        };
        upsert.execute(params![
            event.id.to_string(),
            doc_id,
            state.platform_order_id,
            store_event.body.kind(),
            json,
            event.at,
            ack_state,
            acked_at,
            reason
        ])?;
        keep.push(event.id.to_string());
    }
    let mut stale =
        tx.prepare_cached("SELECT event_id FROM outbox WHERE doc_id = ?1 AND state = 'pending'")?;
    let pending: Vec<String> = stale
        .query_map([doc_id], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    for id in pending.into_iter().filter(|id| !keep.contains(id)) {
        tx.execute("DELETE FROM outbox WHERE event_id = ?1", [id])?;
    }
    Ok(state)
}

fn write_back_body(step: &Step, state: &OrderState) -> Option<EventBody> {
    Some(match step {
        Step::OrderPicked => EventBody::OrderPicked {
            lines: state
                .lines
                .iter()
                .map(|l| PickedLine {
                    line_id: l.line_id.clone(),
                    gtin14: l.gtin14.clone(),
                    quantity: l.ordered.min(l.picked),
                })
                .collect(),
        },
        Step::OrderStaged { bin } => EventBody::OrderStaged { bin: bin.clone() },
        Step::OrderReady => EventBody::OrderReady,
        Step::OrderHandedOver {
            verification,
            collected_by,
        } => EventBody::OrderHandedOver {
            verification: *verification,
            collected_by: collected_by.clone(),
        },
        Step::ItemPicked { .. } | Step::OrderCancelled { .. } => return None,
    })
}
