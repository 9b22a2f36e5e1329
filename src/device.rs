//! A store device: the one surface the Tauri shell, the CLI and the tests call.
//!
//! [`Device`] owns the replica and the signed-in session and carries out every workflow step:
//! it checks the step against the order as folded, refuses it with a specific reason or
//! records it as an event in the order's document, and derives the query tables and the outbox
//! from the document in the same transaction. [`Device::sync`] exchanges with central: it pulls
//! the catalogue, associates, stock and the order feed, and pushes the outbox.
//!
//! Methods take `&self` and lock the replica only for the database work, never across a
//! network call, so the UI stays responsive while a sync waits on central.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use automerge::AutoCommit;
use automerge::transaction::CommitOptions;
use rusqlite::{OptionalExtension, params};
use uuid::Uuid;

use crate::api::{
    ErrorCode, Label, OrderDetail, OrderLineView, OrderStatus, OrderSummary, OrderView,
    ProductView, ScanResult, SessionInfo, Status,
};
use crate::connector::Central;
use crate::contract::{
    AckStatus, EventBatch, EventBody, FeedBody, FeedItem, Fulfilment, PickedLine, StoreEvent,
    Verification,
};
use crate::error::{Error, Result};
use crate::order::{self, Event, OrderState, Step};
use crate::replica::{Replica, Writer};
use crate::scan::{self, Scan};
use crate::{auth, catalogue, label, stock, time};

/// A session ends after this long without a command.
pub const IDLE_LOCK: Duration = Duration::from_secs(15 * 60);
const CATALOGUE_PAGE: u32 = 1_000;
const FEED_PAGE: u32 = 500;
const PUSH_BATCH: usize = 500;

/// Who this device is at central.
#[derive(Debug, Clone)]
pub struct Identity {
    pub store_id: String,
    pub device_id: Uuid,
    pub device_name: String,
    pub central_url: String,
    token: String,
}

/// One write-back event as the outbox holds it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct OutboxEntry {
    pub event_id: String,
    pub order_number: String,
    pub kind: String,
    pub state: String,
    pub created_at: String,
    pub attempts: i64,
    pub last_error: Option<String>,
}

/// What one [`Device::sync`] did.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct SyncReport {
    pub products_received: usize,
    pub orders_received: usize,
    pub feed_items_quarantined: usize,
    pub events_pushed: usize,
    pub events_waiting: u32,
}

struct Session {
    info: SessionInfo,
    last_active: Instant,
}

pub struct Device {
    replica: Mutex<Replica>,
    session: Mutex<Option<Session>>,
    data_dir: PathBuf,
}

impl Device {
    /// Opens the device whose data lives in `data_dir`, creating the directory and replica.
    ///
    /// # Failure
    /// [`Error::Io`] when the directory cannot be created, and whatever [`Replica::open`]
    /// refuses (a replica from a newer Storehand).
    pub fn open(data_dir: &Path) -> Result<Device> {
        std::fs::create_dir_all(data_dir).map_err(|source| Error::Io {
            context: format!("cannot create the data directory {}", data_dir.display()),
            source,
        })?;
        let replica = Replica::open(&data_dir.join("replica.sqlite3"))?;
        Ok(Device {
            replica: Mutex::new(replica),
            session: Mutex::new(None),
            data_dir: data_dir.to_owned(),
        })
    }

    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    fn replica(&self) -> MutexGuard<'_, Replica> {
        self.replica
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// This device's identity.
    ///
    /// # Failure
    /// [`ErrorCode::NotSetUp`] before [`Device::setup`].
    pub fn identity(&self) -> Result<Identity> {
        identity(&self.replica())
    }

    /// Registers this device with the central at `central_url` for `store_id`, then syncs.
    ///
    /// # Failure
    /// A refusal when the device is already set up for another store or central (a device
    /// serves one store; wipe its data directory to move it), or when central refuses.
    pub async fn setup(
        &self,
        central_url: &str,
        store_id: &str,
        device_name: &str,
    ) -> Result<Identity> {
        let store_id = store_id.trim();
        let device_name = device_name.trim();
        if store_id.is_empty() || device_name.is_empty() {
            return Err(Error::refused(
                ErrorCode::Invalid,
                "give a store id and a device name",
            ));
        }
        if let Ok(existing) = self.identity() {
            let same = existing.store_id == store_id
                && existing.central_url.trim_end_matches('/') == central_url.trim_end_matches('/');
            if same {
                return Ok(existing);
            }
            return Err(Error::refused(
                ErrorCode::Invalid,
                format!(
                    "this device is already set up for store {} at {}; a device serves one \
                     store: use a new data directory to set up another",
                    existing.store_id, existing.central_url
                ),
            ));
        }
        let central = Central::new(central_url, store_id, None)?;
        let credentials = central.register(device_name).await?;
        self.replica().write(|w| {
            w.tx().execute(
                "INSERT INTO device (id, store_id, device_id, device_name, central_url, token,
                                     created_at)
                 VALUES (1, ?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    credentials.store_id,
                    credentials.device_id.to_string(),
                    device_name,
                    central.base_url(),
                    credentials.token,
                    time::now_rfc3339()
                ],
            )?;
            Ok(())
        })?;
        tracing::info!(store = %credentials.store_id, device = %credentials.device_id, "set up");
        self.sync().await?;
        self.identity()
    }

    // ----- session -----------------------------------------------------------------------

    /// Signs an associate in on this device, replacing whoever was signed in.
    ///
    /// # Failure
    /// See [`auth::sign_in`].
    pub fn sign_in(&self, staff_id: &str, pin: &str) -> Result<SessionInfo> {
        let info = auth::sign_in(self.replica().conn_mut(), staff_id, pin)?;
        tracing::info!(staff = %info.staff_id, "signed in");
        *self.session.lock().unwrap_or_else(|p| p.into_inner()) = Some(Session {
            info: info.clone(),
            last_active: Instant::now(),
        });
        Ok(info)
    }

    pub fn sign_out(&self) {
        *self.session.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }

    /// The signed-in associate, renewing the idle timer.
    ///
    /// # Failure
    /// [`ErrorCode::NotSignedIn`] when nobody is signed in or the session was idle too long.
    pub fn session(&self) -> Result<SessionInfo> {
        let mut guard = self.session.lock().unwrap_or_else(|p| p.into_inner());
        match guard.as_mut() {
            Some(s) if s.last_active.elapsed() < IDLE_LOCK => {
                s.last_active = Instant::now();
                Ok(s.info.clone())
            }
            Some(_) => {
                *guard = None;
                Err(Error::refused(
                    ErrorCode::NotSignedIn,
                    "the session locked after 15 idle minutes; sign in again",
                ))
            }
            None => Err(Error::refused(ErrorCode::NotSignedIn, "sign in first")),
        }
    }

    pub fn status(&self) -> Result<Status> {
        let identity = self.identity()?;
        let waiting = outbox_waiting(&self.replica())?;
        let (online, last_sync_at, last_error) = {
            let replica = self.replica();
            (
                replica.meta(LINK_ONLINE)?.as_deref() == Some("1"),
                replica.meta(LINK_LAST_SYNC)?,
                replica.meta(LINK_LAST_ERROR)?.filter(|e| !e.is_empty()),
            )
        };
        let session = self.session.lock().unwrap_or_else(|p| p.into_inner());
        Ok(Status {
            store_id: identity.store_id,
            device_id: identity.device_id.to_string(),
            device_name: identity.device_name,
            central_url: identity.central_url,
            online,
            outbox_waiting: waiting,
            last_sync_at,
            last_error,
            session: session.as_ref().map(|s| s.info.clone()),
        })
    }

    // ----- reading -----------------------------------------------------------------------

    pub fn list_orders(&self, view: OrderView) -> Result<Vec<OrderSummary>> {
        let filter = match view {
            OrderView::Queue => {
                "WHERE status IN ('new', 'picking', 'picked', 'staged') ORDER BY placed_at ASC"
            }
            OrderView::Counter => "WHERE status = 'ready' ORDER BY placed_at ASC",
            OrderView::All => "ORDER BY placed_at DESC",
        };
        let replica = self.replica();
        let mut stmt = replica
            .conn()
            .prepare(&format!("{SUMMARY_SELECT} {filter}"))?;
        let rows = stmt.query_map([], summary_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// An order by its document id, platform id or order number.
    ///
    /// # Failure
    /// [`ErrorCode::NotFound`] when no order matches.
    pub fn order(&self, order_ref: &str) -> Result<OrderDetail> {
        let mut replica = self.replica();
        let doc_id = resolve_order(&replica, order_ref)?;
        let doc = replica
            .read_doc(&doc_id)?
            .ok_or_else(|| not_found(order_ref))?;
        let state = order::fold(doc)?;
        detail(replica.conn(), &doc_id, &state)
    }

    /// Orders for the pickup counter: `query` is a pickup code (scanned or typed), an order
    /// number, or part of the customer's name.
    pub fn find_pickup(&self, query: &str) -> Result<Vec<OrderSummary>> {
        let query = query.trim();
        if query.is_empty() {
            return Err(Error::refused(
                ErrorCode::Invalid,
                "scan the customer's pickup code, or type the order number or their name",
            ));
        }
        let replica = self.replica();
        let conn = replica.conn();
        if let Some(code) = scan::pickup_code(&query.to_ascii_uppercase()) {
            let mut stmt =
                conn.prepare_cached(&format!("{SUMMARY_SELECT} WHERE pickup_code = ?1"))?;
            let found: Vec<_> = stmt
                .query_map([&code], summary_row)?
                .collect::<rusqlite::Result<_>>()?;
            if !found.is_empty() {
                return Ok(found);
            }
        }
        let mut stmt = conn.prepare_cached(&format!(
            "{SUMMARY_SELECT} WHERE order_number = ?1 COLLATE NOCASE
                OR platform_order_id = ?1
                OR customer_name LIKE '%' || ?2 || '%' ESCAPE '\\'
             ORDER BY (status = 'ready') DESC, placed_at ASC LIMIT 20"
        ))?;
        let like = query
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_");
        let rows = stmt.query_map(params![query, like], summary_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    pub fn search_products(&self, query: &str) -> Result<Vec<ProductView>> {
        catalogue::search(self.replica().conn(), query)
    }

    pub fn pickup_label(&self, order_ref: &str) -> Result<Label> {
        let detail = self.order(order_ref)?;
        let caption = format!(
            "{}  ·  {}",
            detail.summary.order_number, detail.summary.customer_name
        );
        label::pickup_label(&detail.pickup_code, &caption)
    }

    pub fn outbox(&self) -> Result<Vec<OutboxEntry>> {
        let replica = self.replica();
        let mut stmt = replica.conn().prepare(
            "SELECT o.event_id, COALESCE(r.order_number, o.platform_order_id), o.kind, o.state,
                    o.created_at, o.attempts, o.last_error
             FROM outbox o LEFT JOIN orders r ON r.doc_id = o.doc_id ORDER BY o.event_id",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok(OutboxEntry {
                event_id: r.get(0)?,
                order_number: r.get(1)?,
                kind: r.get(2)?,
                state: r.get(3)?,
                created_at: r.get(4)?,
                attempts: r.get(5)?,
                last_error: r.get(6)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

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
        if collected_by.is_some_and(|p| p.chars().count() > 80) {
            return Err(Error::refused(
                ErrorCode::Invalid,
                "the pickup person's name is too long",
            ));
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
                    tracing::info!(order = %state.order_number, step = step.kind(), "recorded");
                    record(w, &doc_id, &identity, session, step)?;
                    refresh_order(w, &doc_id)
                }
                None => Ok(state),
            }
        })?;
        detail(replica.conn(), &doc_id, &state)
    }

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
        let products_received = self.pull_catalogue(central).await?;
        let associates = central.associates().await?;
        self.replica()
            .write(|w| auth::replace_associates(w.tx(), &associates.associates))?;
        let snapshot = central.stock().await?;
        self.apply_stock(&snapshot)?;
        let (orders_received, feed_items_quarantined) = self.pull_orders(central).await?;
        let events_pushed = self.push_outbox(central).await?;
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
    fn apply_stock(&self, snapshot: &crate::contract::StockSnapshot) -> Result<()> {
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

// ----- helpers shared by the steps ---------------------------------------------------------

const LINK_ONLINE: &str = "link_online";
const LINK_LAST_SYNC: &str = "link_last_sync_at";
const LINK_LAST_ERROR: &str = "link_last_error";

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

const SUMMARY_SELECT: &str = "
    SELECT doc_id, platform_order_id, order_number, customer_name, fulfilment, status,
           placed_at, units_ordered, units_picked, bin, cancel_reason
    FROM orders";

fn summary_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<OrderSummary> {
    Ok(OrderSummary {
        id: r.get(0)?,
        platform_order_id: r.get(1)?,
        order_number: r.get(2)?,
        customer_name: r.get(3)?,
        fulfilment: if r.get::<_, String>(4)? == "ship_from_store" {
            Fulfilment::ShipFromStore
        } else {
            Fulfilment::Bopis
        },
        status: status_from(&r.get::<_, String>(5)?),
        placed_at: r.get(6)?,
        units_ordered: r.get(7)?,
        units_picked: r.get(8)?,
        bin: r.get(9)?,
        cancel_reason: r.get(10)?,
    })
}

pub(crate) fn status_text(status: OrderStatus) -> &'static str {
    match status {
        OrderStatus::New => "new",
        OrderStatus::Picking => "picking",
        OrderStatus::Picked => "picked",
        OrderStatus::Staged => "staged",
        OrderStatus::Ready => "ready",
        OrderStatus::HandedOver => "handed_over",
        OrderStatus::Cancelled => "cancelled",
    }
}

fn status_from(text: &str) -> OrderStatus {
    match text {
        "picking" => OrderStatus::Picking,
        "picked" => OrderStatus::Picked,
        "staged" => OrderStatus::Staged,
        "ready" => OrderStatus::Ready,
        "handed_over" => OrderStatus::HandedOver,
        "cancelled" => OrderStatus::Cancelled,
        _ => OrderStatus::New,
    }
}

fn identity(replica: &Replica) -> Result<Identity> {
    replica
        .conn()
        .query_row(
            "SELECT store_id, device_id, device_name, central_url, token FROM device WHERE id = 1",
            [],
            |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                ))
            },
        )
        .optional()?
        .map(
            |(store_id, device_id, device_name, central_url, token)| Identity {
                store_id,
                device_id: Uuid::parse_str(&device_id).unwrap_or_default(),
                device_name,
                central_url,
                token,
            },
        )
        .ok_or_else(|| {
            Error::refused(
                ErrorCode::NotSetUp,
                "this device is not set up yet: run `storehand setup --central URL --store ID`",
            )
        })
}

fn not_found(order_ref: &str) -> Error {
    Error::refused(
        ErrorCode::NotFound,
        format!("no order {order_ref:?} on this device; sync, or check the number"),
    )
}

/// The document id of an order given by document id, platform id or order number.
fn resolve_order(replica: &Replica, order_ref: &str) -> Result<String> {
    let order_ref = order_ref.trim();
    replica
        .conn()
        .query_row(
            "SELECT doc_id FROM orders
             WHERE doc_id = ?1 OR platform_order_id = ?1 OR order_number = ?1 COLLATE NOCASE
             LIMIT 1",
            [order_ref],
            |r| r.get(0),
        )
        .optional()?
        .ok_or_else(|| not_found(order_ref))
}

/// Refuses any step on a cancelled or handed-over order.
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
fn commit_local(w: &mut Writer<'_>, doc_id: &str) -> Result<()> {
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

fn refresh_stock(w: &mut Writer<'_>, stock_doc: &str) -> Result<()> {
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

/// Re-derives an order's query-table rows and outbox entries from its document.
fn refresh_order(w: &mut Writer<'_>, doc_id: &str) -> Result<OrderState> {
    let doc = w.doc(doc_id)?.ok_or_else(|| not_found(doc_id))?;
    let state = order::fold(doc)?;
    let acks: HashMap<Uuid, (String, String)> = order::acked_events(doc)?
        .into_iter()
        .map(|(id, status, at)| (id, (status, at)))
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

    // The outbox holds exactly the write-back steps the fold applied; a step that lost to
    // another device's in fold order is not sent.
    let mut keep = Vec::new();
    let mut upsert = tx.prepare_cached(
        "INSERT INTO outbox (event_id, doc_id, platform_order_id, kind, body, created_at, state,
                             acked_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
         ON CONFLICT (event_id) DO UPDATE SET state = excluded.state,
             acked_at = excluded.acked_at",
    )?;
    for event in &state.history {
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
        let (ack_state, acked_at) = match acks.get(&event.id) {
            Some((status, at)) => (status.as_str(), Some(at.as_str())),
            None => ("pending", None),
        };
        upsert.execute(params![
            event.id.to_string(),
            doc_id,
            state.platform_order_id,
            store_event.body.kind(),
            json,
            event.at,
            ack_state,
            acked_at
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

fn outbox_waiting(replica: &Replica) -> Result<u32> {
    Ok(replica.conn().query_row(
        "SELECT COUNT(*) FROM outbox WHERE state = 'pending'",
        [],
        |r| r.get(0),
    )?)
}

fn detail(conn: &rusqlite::Connection, doc_id: &str, state: &OrderState) -> Result<OrderDetail> {
    let summary = {
        let mut stmt = conn.prepare_cached(&format!("{SUMMARY_SELECT} WHERE doc_id = ?1"))?;
        stmt.query_row([doc_id], summary_row)
            .optional()?
            .ok_or_else(|| not_found(doc_id))?
    };
    let mut printed = conn.prepare_cached("SELECT printed_code FROM products WHERE gtin14 = ?1")?;
    let mut lines = Vec::new();
    for l in &state.lines {
        let printed_code: Option<String> =
            printed.query_row([&l.gtin14], |r| r.get(0)).optional()?;
        lines.push(OrderLineView {
            line_id: l.line_id.clone(),
            gtin14: l.gtin14.clone(),
            printed_code: printed_code.unwrap_or_else(|| l.gtin14.clone()),
            name: l.name.clone(),
            ordered: l.ordered,
            picked: l.picked,
            over_picked: l.over_picked,
        });
    }
    Ok(OrderDetail {
        summary,
        pickup_code: state.pickup_code.clone(),
        lines,
        history: state.history_entries(),
    })
}
