//! The exchange with central: pull catalogue, associates, stock and the order feed; push the
//! outbox and record central's answers in the order documents.

use std::collections::HashMap;

use rusqlite::params;
use uuid::Uuid;

use super::derive::refresh_order;
use super::steps::commit_local;
use super::{
    CATALOGUE_PAGE, Device, FEED_PAGE, LINK_LAST_ERROR, LINK_LAST_SYNC, LINK_ONLINE, PUSH_BATCH,
    SyncReport, not_found, outbox_waiting,
};
use crate::api::ErrorCode;
use crate::connector::Central;
use crate::contract::{AckStatus, EventBatch, FeedBody, FeedItem, StockSnapshot, StoreEvent};
use crate::error::{Error, Result};
use crate::order::{self, Event, Step};
use crate::replica::Writer;
use crate::{auth, catalogue, scan, stock, time};

impl Device {
    // ----- sync with central -------------------------------------------------------------

    /// One exchange with central: pull catalogue, associates, stock and orders, push the
    /// outbox. The link state (online, last error) is updated either way.
    ///
    /// # Failure
    /// [`ErrorCode::NotSetUp`] before setup; [`Error::Central`] when central cannot be reached
    /// or refuses. What was pulled or pushed before the failure stays applied.
    pub async fn sync(&self) -> Result<SyncReport> {
        let identity = self.identity()?;
        let central = Central::new(
            &identity.central_url,
            &identity.store_id,
            Some(identity.token),
        )?;
        let outcome = self.sync_with(&central).await;
        // The link state lives in the replica, so a restarted app or another CLI process
        // shows when this device last reached central and why it last failed.
        self.replica().write(|w| match &outcome {
            Ok(_) => {
                w.set_meta(LINK_ONLINE, "1")?;
                w.set_meta(LINK_LAST_SYNC, &time::now_rfc3339())?;
                w.set_meta(LINK_LAST_ERROR, "")
            }
            Err(err) => {
                w.set_meta(LINK_ONLINE, "0")?;
                w.set_meta(LINK_LAST_ERROR, &err.to_string())
            }
        })?;
        outcome
    }

    async fn sync_with(&self, central: &Central) -> Result<SyncReport> {
        // Write-back first: what the store confirmed matters more than what central has new,
        // and a pull that fails (a slow catalogue page) must not hold the outbox back.
        let events_pushed = self.push_outbox(central).await?;
        let products_received = self.pull_catalogue(central).await?;
        let associates = central.associates().await?;
        self.replica()
            .write(|w| auth::replace_associates(w.tx(), &associates.associates))?;
        let snapshot = central.stock().await?;
        self.apply_stock(&snapshot)?;
        let (orders_received, feed_items_quarantined) = self.pull_orders(central).await?;
        Ok(SyncReport {
            products_received,
            orders_received,
            feed_items_quarantined,
            events_pushed,
            events_waiting: outbox_waiting(&self.replica())?,
        })
    }

    /// Pulls catalogue pages until central has no more. A bulk load (an empty catalogue, or
    /// one whose index is already marked stale) skips index maintenance and rebuilds the
    /// index once at the end; the mark survives a crash, so an interrupted load still ends
    /// with a whole index.
    async fn pull_catalogue(&self, central: &Central) -> Result<usize> {
        let mut received = 0;
        loop {
            let after: u64 = self
                .replica()
                .meta("catalogue_cursor")?
                .and_then(|c| c.parse().ok())
                .unwrap_or(0);
            let page = central.catalogue_page(after, CATALOGUE_PAGE).await?;
            if !page.items.is_empty() {
                received += page.items.len();
                self.replica().write(|w| {
                    let stale = index_stale(w)?;
                    let bulk = stale || catalogue::product_count(w.tx())? == 0;
                    if bulk && !stale {
                        w.set_meta(INDEX_STALE, "1")?;
                    }
                    catalogue::apply_page(w.tx(), &page.items, bulk)?;
                    w.set_meta("catalogue_cursor", &page.next_cursor.to_string())
                })?;
            }
            if page.done || page.items.is_empty() || page.next_cursor <= after {
                break;
            }
        }
        self.replica().write(|w| {
            if index_stale(w)? {
                catalogue::rebuild_index(w.tx())?;
                w.tx()
                    .execute("DELETE FROM meta WHERE key = ?1", [INDEX_STALE])?;
            }
            Ok(())
        })?;
        Ok(received)
    }

    /// Starts a new stock document when central's snapshot has a new epoch.
    fn apply_stock(&self, snapshot: &StockSnapshot) -> Result<()> {
        let doc_id = stock::stock_doc_id(&snapshot.store_id, &snapshot.epoch).to_string();
        let mut replica = self.replica();
        if replica.meta("stock_doc")?.as_deref() == Some(doc_id.as_str()) {
            return Ok(());
        }
        let doc = stock::create(snapshot)?;
        replica.write(|w| {
            let exists = w.doc(&doc_id)?.is_some();
            if !exists {
                w.insert_doc(&doc_id, "stock", doc)?;
            }
            w.set_meta("stock_doc", &doc_id)?;
            refresh_stock(w, &doc_id)
        })
    }

    async fn pull_orders(&self, central: &Central) -> Result<(usize, usize)> {
        let (mut received, mut quarantined) = (0, 0);
        loop {
            let after: u64 = self
                .replica()
                .meta("order_cursor")?
                .and_then(|c| c.parse().ok())
                .unwrap_or(0);
            let page = central.orders_page(after, FEED_PAGE).await?;
            if page.items.is_empty() {
                return Ok((received, quarantined));
            }
            for item in &page.items {
                let outcome = self.replica().write(|w| {
                    apply_feed_item(w, item)?;
                    w.set_meta("order_cursor", &item.seq.to_string())
                });
                match outcome {
                    Ok(()) => received += 1,
                    Err(err) if err.is_refusal() || matches!(err, Error::Document { .. }) => {
                        quarantined += 1;
                        tracing::warn!(seq = item.seq, error = %err, "feed item quarantined");
                        self.replica().write(|w| {
                            w.tx().execute(
                                "INSERT INTO quarantine (source, reason, payload, at)
                                 VALUES ('order_feed', ?1, ?2, ?3)",
                                params![
                                    err.to_string(),
                                    serde_json::to_string(item).unwrap_or_default(),
                                    time::now_rfc3339()
                                ],
                            )?;
                            w.set_meta("order_cursor", &item.seq.to_string())
                        })?;
                    }
                    Err(err) => return Err(err),
                }
            }
            if page.next_cursor <= after {
                return Ok((received, quarantined));
            }
        }
    }

    /// Pushes pending events in batches and records central's answers in the documents.
    async fn push_outbox(&self, central: &Central) -> Result<usize> {
        let mut pushed = 0;
        loop {
            let pending: Vec<(String, String)> = {
                let replica = self.replica();
                let mut stmt = replica.conn().prepare(
                    "SELECT doc_id, body FROM outbox WHERE state = 'pending'
                     ORDER BY event_id LIMIT ?1",
                )?;
                let rows = stmt.query_map([PUSH_BATCH as i64], |r| Ok((r.get(0)?, r.get(1)?)))?;
                rows.collect::<rusqlite::Result<_>>()?
            };
            if pending.is_empty() {
                return Ok(pushed);
            }
            let mut doc_of = HashMap::new();
            let mut events = Vec::new();
            for (doc_id, body) in pending {
                let event: StoreEvent = serde_json::from_str(&body)
                    .map_err(|e| Error::document(&doc_id, format!("outbox body: {e}")))?;
                doc_of.insert(event.event_id, doc_id);
                events.push(event);
            }
            let ids: Vec<String> = events.iter().map(|e| e.event_id.to_string()).collect();
            let response = match central.push_events(&EventBatch { events }).await {
                Ok(response) => response,
                Err(err) => {
                    self.replica().write(|w| {
                        let mut bump = w.tx().prepare_cached(
                            "UPDATE outbox SET attempts = attempts + 1, last_error = ?2
                             WHERE event_id = ?1",
                        )?;
                        for id in &ids {
                            bump.execute(params![id, err.to_string()])?;
                        }
                        Ok(())
                    })?;
                    return Err(err);
                }
            };
            let now = time::now_rfc3339();
            let answered = response.acks.len();
            self.replica().write(|w| {
                let mut touched = Vec::new();
                for ack in &response.acks {
                    let Some(doc_id) = doc_of.get(&ack.event_id) else {
                        continue;
                    };
                    let doc = w.doc(doc_id)?.ok_or_else(|| not_found(doc_id))?;
                    order::record_ack(doc, ack.event_id, ack.status, &now, ack.reason.as_deref())?;
                    if ack.status == AckStatus::Rejected {
                        let reason = ack.reason.as_deref().unwrap_or("none given");
                        tracing::warn!(event = %ack.event_id, reason, "central rejected an event");
                    }
                    touched.push(doc_id.clone());
                }
                touched.sort();
                touched.dedup();
                for doc_id in touched {
                    commit_local(w, &doc_id)?;
                    w.save_doc(&doc_id)?;
                    refresh_order(w, &doc_id)?;
                }
                Ok(())
            })?;
            pushed += answered;
            if answered == 0 {
                return Ok(pushed);
            }
        }
    }
}

/// Meta key present while the catalogue's full-text index lags its table.
const INDEX_STALE: &str = "catalogue_index_stale";

fn index_stale(w: &Writer<'_>) -> Result<bool> {
    let found: i64 = w.tx().query_row(
        "SELECT COUNT(*) FROM meta WHERE key = ?1",
        [INDEX_STALE],
        |r| r.get(0),
    )?;
    Ok(found > 0)
}

pub(crate) fn refresh_stock(w: &mut Writer<'_>, stock_doc: &str) -> Result<()> {
    let Some(doc) = w.doc(stock_doc)? else {
        return Ok(());
    };
    let levels = stock::levels(doc)?;
    w.tx().execute("DELETE FROM stock", [])?;
    let mut insert = w
        .tx()
        .prepare_cached("INSERT INTO stock (gtin14, on_hand) VALUES (?1, ?2)")?;
    for (gtin, level) in levels {
        insert.execute(params![gtin, level])?;
    }
    Ok(())
}

/// Applies one order feed item: a new order document, or a cancel event on an existing one.
///
/// # Failure
/// A refusal for an item that cannot be applied (a cancel of an order never received, an
/// order whose lines are malformed); the caller quarantines it.
fn apply_feed_item(w: &mut Writer<'_>, item: &FeedItem) -> Result<()> {
    match &item.body {
        FeedBody::OrderCreated { order: spec } => {
            validate_spec(spec)?;
            let doc_id = order::order_doc_id(&spec.platform_order_id).to_string();
            if w.doc(&doc_id)?.is_some() {
                return Ok(());
            }
            w.insert_doc(&doc_id, "order", order::create(spec)?)?;
            refresh_order(w, &doc_id)?;
        }
        FeedBody::OrderCancelled {
            platform_order_id,
            cancel_id,
            reason,
            at,
        } => {
            let doc_id = order::order_doc_id(platform_order_id).to_string();
            let event_id =
                Uuid::new_v5(&order::NAMESPACE, format!("cancel:{cancel_id}").as_bytes());
            let Some(doc) = w.doc(&doc_id)? else {
                return Err(Error::refused(
                    ErrorCode::NotFound,
                    format!(
                        "cancel of order {platform_order_id}, which this device never received"
                    ),
                ));
            };
            if order::read_events(doc)?.iter().any(|e| e.id == event_id) {
                return Ok(());
            }
            let event = Event {
                id: event_id,
                hlc: order::next_hlc(doc, time::now_ms())?,
                at: at.clone(),
                device: "central".into(),
                associate: "central".into(),
                step: Step::OrderCancelled {
                    reason: reason.clone(),
                },
            };
            order::append(doc, &event)?;
            commit_local(w, &doc_id)?;
            w.save_doc(&doc_id)?;
            refresh_order(w, &doc_id)?;
        }
    }
    Ok(())
}

fn validate_spec(spec: &crate::contract::OrderSpec) -> Result<()> {
    let bad = |why: String| {
        Error::refused(
            ErrorCode::Invalid,
            format!("order {}: {why}", spec.platform_order_id),
        )
    };
    if spec.platform_order_id.is_empty() || spec.lines.is_empty() {
        return Err(bad("no id or no lines".into()));
    }
    if scan::pickup_code(&spec.pickup_code).as_deref() != Some(spec.pickup_code.as_str()) {
        return Err(bad(format!(
            "pickup code {:?} is malformed",
            spec.pickup_code
        )));
    }
    for line in &spec.lines {
        let gtin = crate::gtin::Gtin::parse(&line.gtin14).map_err(|e| bad(e.to_string()))?;
        if gtin.gtin14() != line.gtin14 || line.quantity == 0 {
            return Err(bad(format!("line {} is malformed", line.line_id)));
        }
    }
    Ok(())
}
