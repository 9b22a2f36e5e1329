//! Workflow steps: each checks the order as folded, then refuses or records one event.

use automerge::AutoCommit;
use automerge::transaction::CommitOptions;
use rusqlite::params;
use uuid::Uuid;

use super::derive::refresh_order;
use super::{Device, Identity, detail, not_found, resolve_order};
use crate::api::{ErrorCode, OrderDetail, OrderStatus, ScanResult, SessionInfo};
use crate::contract::Verification;
use crate::error::{Error, Result};
use crate::order::{self, Event, OrderState, Step};
use crate::replica::Writer;
use crate::scan::{self, Scan};
use crate::{catalogue, stock, time};

impl Device {
    // ----- workflow steps ----------------------------------------------------------------

    /// One scanned unit on the pick screen of `order_ref`.
    ///
    /// # Failure
    /// Refused, with nothing changed: not signed in; not a product code
    /// ([`ErrorCode::NotAScan`]); bad check digit; a product not in the catalogue
    /// ([`ErrorCode::UnknownCode`]) or not on the order ([`ErrorCode::WrongItem`]); every unit
    /// of it already picked ([`ErrorCode::OverPick`]); the order cancelled or handed over.
    #[tracing::instrument(skip(self, text), err(Debug, level = "warn"))]
    pub fn scan_item(&self, order_ref: &str, text: &str) -> Result<ScanResult> {
        let session = self.session()?;
        let gtin = match scan::parse(text)? {
            Scan::Product(gtin) => gtin,
            Scan::Bin(bin) => {
                return Err(Error::refused(
                    ErrorCode::NotAScan,
                    format!("{bin} is a bin label; scan the product's barcode to pick it"),
                ));
            }
            Scan::PickupCode(_) | Scan::Badge(_) => {
                return Err(Error::refused(
                    ErrorCode::NotAScan,
                    "that is not a product barcode; scan the barcode on the product",
                ));
            }
        };
        let identity = self.identity()?;
        let mut replica = self.replica();
        let doc_id = resolve_order(&replica, order_ref)?;
        let stock_doc = replica.meta("stock_doc")?;
        let in_catalogue = catalogue::product(replica.conn(), gtin.gtin14())?.is_some();
        let (state, line_id) = replica.write(|w| {
            let doc = w.doc(&doc_id)?.ok_or_else(|| not_found(order_ref))?;
            let state = order::fold(doc)?;
            refuse_closed(&state)?;
            let Some(line) = state.lines.iter().find(|l| l.gtin14 == gtin.gtin14()) else {
                return Err(if in_catalogue {
                    Error::refused(
                        ErrorCode::WrongItem,
                        format!(
                            "{} is not on order {}; put it back and scan an item on the list",
                            gtin.printed(),
                            state.order_number
                        ),
                    )
                } else {
                    Error::refused(
                        ErrorCode::UnknownCode,
                        format!(
                            "no product in the catalogue has code {}; check the item or ask a \
                             lead",
                            gtin.printed()
                        ),
                    )
                });
            };
            if line.picked >= line.ordered {
                return Err(Error::refused(
                    ErrorCode::OverPick,
                    format!(
                        "all {} of {} are already picked; put this one back",
                        line.ordered, line.name
                    ),
                ));
            }
            let line_id = line.line_id.clone();
            let step = Step::ItemPicked {
                line_id: line_id.clone(),
                gtin14: line.gtin14.clone(),
            };
            let completes = state.units_picked() + 1 == state.units_ordered();
            record(w, &doc_id, &identity, &session, step)?;
            if completes {
                record(w, &doc_id, &identity, &session, Step::OrderPicked)?;
            }
            if let Some(stock_doc) = &stock_doc {
                move_stock(w, stock_doc, &identity, gtin.gtin14(), -1)?;
            }
            let state = refresh_order(w, &doc_id)?;
            Ok((state, line_id))
        })?;
        let detail = detail(replica.conn(), &doc_id, &state)?;
        let line = detail.lines.iter().find(|l| l.line_id == line_id).cloned();
        let line = line.ok_or_else(|| Error::document(&doc_id, "picked line vanished"))?;
        tracing::info!(order = %detail.summary.order_number, line = %line_id, "unit picked");
        Ok(ScanResult {
            line_id,
            name: line.name,
            printed_code: line.printed_code,
            picked: line.picked,
            ordered: line.ordered,
            order_complete: state.fully_picked(),
            order: detail,
        })
    }

    /// Puts a fully picked order into the bin whose label was scanned.
    ///
    /// # Failure
    /// Refused when `bin_text` is not a bin label, the order is not fully picked, already
    /// staged, cancelled or handed over.
    #[tracing::instrument(skip(self), err(Debug, level = "warn"))]
    pub fn stage_order(&self, order_ref: &str, bin_text: &str) -> Result<OrderDetail> {
        let session = self.session()?;
        let bin = match scan::parse(bin_text) {
            Ok(Scan::Bin(bin)) => bin,
            _ => {
                return Err(Error::refused(
                    ErrorCode::NotAScan,
                    format!(
                        "{:?} is not a bin label; scan the label on the bin (BIN-…)",
                        bin_text.trim()
                    ),
                ));
            }
        };
        self.step(order_ref, &session, |state| {
            refuse_closed(state)?;
            match state.status {
                OrderStatus::Picked => Ok(Some(Step::OrderStaged { bin: bin.clone() })),
                OrderStatus::New | OrderStatus::Picking => Err(Error::refused(
                    ErrorCode::WrongState,
                    format!(
                        "{} of {} units are picked; pick the rest before staging",
                        state.units_picked(),
                        state.units_ordered()
                    ),
                )),
                _ if state.bin.as_deref() == Some(bin.as_str()) => Ok(None),
                _ => Err(Error::refused(
                    ErrorCode::WrongState,
                    format!(
                        "the order is already staged in {}",
                        state.bin.as_deref().unwrap_or("a bin")
                    ),
                )),
            }
        })
    }

    /// Tells central the order is ready; central notifies the customer. A second call for a
    /// ready order (a double tap) changes nothing and sends nothing.
    ///
    /// # Failure
    /// Refused before the order is staged, and for a cancelled or handed-over order.
    #[tracing::instrument(skip(self), err(Debug, level = "warn"))]
    pub fn mark_ready(&self, order_ref: &str) -> Result<OrderDetail> {
        let session = self.session()?;
        self.step(order_ref, &session, |state| {
            refuse_closed(state)?;
            match state.status {
                OrderStatus::Staged => Ok(Some(Step::OrderReady)),
                OrderStatus::Ready => Ok(None),
                _ => Err(Error::refused(
                    ErrorCode::WrongState,
                    "stage the order in a bin before marking it ready: the customer must not \
                     come for an order that is not on the shelf",
                )),
            }
        })
    }

    /// Hands a ready order to the customer (or to `collected_by`), completing it. A repeat for
    /// an order already handed over changes nothing.
    ///
    /// # Failure
    /// Refused when the order is not ready, is cancelled, or when `verification` is the pickup
    /// code and `pickup_code` is missing or not this order's.
    #[tracing::instrument(skip(self, pickup_code, collected_by), err(Debug, level = "warn"))]
    pub fn hand_over(
        &self,
        order_ref: &str,
        verification: Verification,
        pickup_code: Option<&str>,
        collected_by: Option<&str>,
    ) -> Result<OrderDetail> {
        let session = self.session()?;
        let collected_by = collected_by.map(str::trim).filter(|p| !p.is_empty());
        if let Some(person) = collected_by {
            // The same rule central applies: what the device accepts, central must accept.
            crate::contract::check_text("the pickup person's name", person)
                .map_err(|why| Error::refused(ErrorCode::Invalid, why))?;
        }
        self.step(order_ref, &session, |state| {
            if state.status == OrderStatus::HandedOver {
                return Ok(None);
            }
            refuse_closed(state)?;
            if state.status != OrderStatus::Ready {
                return Err(Error::refused(
                    ErrorCode::WrongState,
                    "this order is not ready for pickup yet; finish picking and staging first",
                ));
            }
            if verification == Verification::PickupCode {
                let given = pickup_code.map(|c| scan::pickup_code(&c.trim().to_ascii_uppercase()));
                if given.flatten().as_deref() != Some(state.pickup_code.as_str()) {
                    return Err(Error::refused(
                        ErrorCode::PickupCodeMismatch,
                        format!(
                            "that pickup code does not belong to order {}; scan the code in the \
                             customer's message or check a photo id",
                            state.order_number
                        ),
                    ));
                }
            }
            Ok(Some(Step::OrderHandedOver {
                verification,
                collected_by: collected_by.map(str::to_owned),
            }))
        })
    }

    /// Runs a workflow step: `decide` sees the order as folded and returns the step to record,
    /// `None` for "already done, nothing to record", or a refusal.
    fn step(
        &self,
        order_ref: &str,
        session: &SessionInfo,
        decide: impl FnOnce(&OrderState) -> Result<Option<Step>>,
    ) -> Result<OrderDetail> {
        let identity = self.identity()?;
        let mut replica = self.replica();
        let doc_id = resolve_order(&replica, order_ref)?;
        let state = replica.write(|w| {
            let doc = w.doc(&doc_id)?.ok_or_else(|| not_found(order_ref))?;
            let state = order::fold(doc)?;
            match decide(&state)? {
                Some(step) => {
                    // Picks merged from two devices can complete an order that neither device
                    // saw complete, so neither recorded `order_picked`; central needs it before
                    // the staging, so the device that stages records it.
                    let picked = state.history.iter().any(|e| e.step == Step::OrderPicked);
                    if matches!(step, Step::OrderStaged { .. }) && !picked {
                        record(w, &doc_id, &identity, session, Step::OrderPicked)?;
                    }
                    tracing::info!(order = %state.order_number, step = step.kind(), "recorded");
                    record(w, &doc_id, &identity, session, step)?;
                    refresh_order(w, &doc_id)
                }
                None => Ok(state),
            }
        })?;
        detail(replica.conn(), &doc_id, &state)
    }
}

fn refuse_closed(state: &OrderState) -> Result<()> {
    match state.status {
        OrderStatus::Cancelled => Err(Error::refused(
            ErrorCode::OrderCancelled,
            format!(
                "order {} was cancelled ({}); put any picked items back",
                state.order_number,
                state.cancel_reason.as_deref().unwrap_or("no reason given")
            ),
        )),
        OrderStatus::HandedOver => Err(Error::refused(
            ErrorCode::OrderCompleted,
            format!(
                "order {} was already handed over; nothing more to do",
                state.order_number
            ),
        )),
        _ => Ok(()),
    }
}

/// Appends a step to an order's document as this device and associate.
fn record(
    w: &mut Writer<'_>,
    doc_id: &str,
    identity: &Identity,
    session: &SessionInfo,
    step: Step,
) -> Result<()> {
    let doc = w.doc(doc_id)?.ok_or_else(|| not_found(doc_id))?;
    doc.set_actor(automerge::ActorId::from(identity.device_id.as_bytes()));
    let event = Event {
        id: Uuid::now_v7(),
        hlc: order::next_hlc(doc, time::now_ms())?,
        at: time::now_rfc3339(),
        device: identity.device_id.to_string(),
        associate: session.staff_id.clone(),
        step,
    };
    order::append(doc, &event)?;
    commit_local(w, doc_id)?;
    w.save_doc(doc_id)?;
    Ok(())
}

/// Closes the document's pending operations into one change stamped with the time.
pub(super) fn commit_local(w: &mut Writer<'_>, doc_id: &str) -> Result<()> {
    let doc: &mut AutoCommit = w.doc(doc_id)?.ok_or_else(|| not_found(doc_id))?;
    let seconds = (time::now_ms() / 1000) as i64;
    doc.commit_with(CommitOptions::default().with_time(seconds));
    Ok(())
}

fn move_stock(
    w: &mut Writer<'_>,
    stock_doc: &str,
    identity: &Identity,
    gtin14: &str,
    delta: i64,
) -> Result<()> {
    let Some(doc) = w.doc(stock_doc)? else {
        return Ok(());
    };
    doc.set_actor(automerge::ActorId::from(identity.device_id.as_bytes()));
    let Some(level) = stock::record_movement(doc, gtin14, delta)? else {
        tracing::warn!(
            gtin = gtin14,
            "no stock record for picked product; movement not kept"
        );
        return Ok(());
    };
    commit_local(w, stock_doc)?;
    w.save_doc(stock_doc)?;
    w.tx().execute(
        "INSERT INTO stock (gtin14, on_hand) VALUES (?1, ?2)
         ON CONFLICT (gtin14) DO UPDATE SET on_hand = excluded.on_hand",
        params![gtin14, level],
    )?;
    Ok(())
}
