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

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use rusqlite::{OptionalExtension, params};
use uuid::Uuid;

use crate::api::{
    ErrorCode, Label, OrderDetail, OrderLineView, OrderStatus, OrderSummary, OrderView,
    ProductView, SessionInfo, Status,
};
use crate::connector::Central;
use crate::contract::Fulfilment;
use crate::error::{Error, Result};
use crate::order::{self, OrderState};
use crate::replica::{self, Replica};
use crate::scan;
use crate::{auth, catalogue, label, time};

mod derive;
mod steps;
mod sync;

// Peer sync applies received changes and re-derives from them as the device's own steps do.
pub(crate) use derive::refresh_order;
pub(crate) use sync::refresh_stock;

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
    sync_key: String,
}

impl Identity {
    /// The store's sync key (64 hex digits), which authenticates links between the store's
    /// devices. Secret: never log it.
    pub fn sync_key(&self) -> &str {
        &self.sync_key
    }
}

/// One write-back event as the outbox holds it.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
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
#[serde(rename_all = "camelCase")]
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
        let mut replica = Replica::open(&data_dir.join("replica.sqlite3"))?;
        reconcile(&mut replica)?;
        Ok(Device {
            replica: Mutex::new(replica),
            session: Mutex::new(None),
            data_dir: data_dir.to_owned(),
        })
    }

    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// The replica, locked; for the parts of the core that work on it directly (peer sync).
    pub(crate) fn replica(&self) -> MutexGuard<'_, Replica> {
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

    /// Enrols this device in a store with a one-time code from central, then syncs. The
    /// store, the device's id, its credentials and the store's sync key come from central.
    ///
    /// # Failure
    /// A refusal when the device is already enrolled (a device serves one store; use a new
    /// data directory to enrol another), for an empty code or name, and when central refuses
    /// the code (wrong, used or expired: its message says which). Nothing is stored then.
    pub async fn enrol(
        &self,
        central_url: &str,
        code: &str,
        device_name: &str,
    ) -> Result<Identity> {
        let device_name = device_name.trim();
        if code.trim().is_empty() || device_name.is_empty() {
            return Err(Error::refused(
                ErrorCode::Invalid,
                "give the enrollment code from central and a name for this device",
            ));
        }
        if let Ok(existing) = self.identity() {
            return Err(Error::refused(
                ErrorCode::Invalid,
                format!(
                    "this device is already enrolled in store {} at {} as {}; a device serves \
                     one store: use a new data directory to enrol another",
                    existing.store_id, existing.central_url, existing.device_name
                ),
            ));
        }
        let central = Central::new(central_url, "", None)?;
        let grant = central.enrol(code.trim(), device_name).await?;
        self.replica().write(|w| {
            w.tx().execute(
                "INSERT INTO device (id, store_id, device_id, device_name, central_url, token,
                                     sync_key, created_at)
                 VALUES (1, ?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![
                    grant.store_id,
                    grant.device_id.to_string(),
                    device_name,
                    central.base_url(),
                    grant.token,
                    grant.sync_key,
                    time::now_rfc3339()
                ],
            )?;
            Ok(())
        })?;
        tracing::info!(store = %grant.store_id, device = %grant.device_id, "enrolled");
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
}

// ----- helpers shared by the parts of the device -------------------------------------------

const LINK_ONLINE: &str = "link_online";
const LINK_LAST_SYNC: &str = "link_last_sync_at";
const LINK_LAST_ERROR: &str = "link_last_error";

/// Meta key present while the catalogue's full-text index lags its table.
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
    let row = replica
        .conn()
        .query_row(
            "SELECT store_id, device_id, device_name, central_url, token, sync_key
             FROM device WHERE id = 1",
            [],
            |r| {
                Ok(Identity {
                    store_id: r.get(0)?,
                    device_id: Uuid::parse_str(&r.get::<_, String>(1)?).unwrap_or_default(),
                    device_name: r.get(2)?,
                    central_url: r.get(3)?,
                    token: r.get(4)?,
                    sync_key: r.get(5)?,
                })
            },
        )
        .optional()?;
    row.ok_or_else(|| {
        Error::refused(
            ErrorCode::NotSetUp,
            "this device is not enrolled in a store yet: ask the store manager for an \
             enrollment code and run `storehand setup --central URL --code CODE --name NAME`",
        )
    })
}

/// Makes the query tables agree with the documents again where they may not: every order
/// whose document's heads differ from the heads its rows recorded (a document that lost a
/// damaged chunk) is re-derived, and the stock table is rebuilt from the stock document.
/// Documents that cannot be loaded at all stay quarantined and are skipped.
fn reconcile(replica: &mut Replica) -> Result<()> {
    let recorded: Vec<(String, Option<String>)> = {
        let mut stmt = replica.conn().prepare(
            "SELECT d.doc_id, o.heads FROM docs d LEFT JOIN orders o ON o.doc_id = d.doc_id
             WHERE d.kind = 'order'",
        )?;
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?
    };
    let mut stale = Vec::new();
    for (doc_id, heads) in recorded {
        match replica.read_doc(&doc_id) {
            Ok(Some(doc)) => {
                if heads.as_deref() != Some(replica::heads_text(doc).as_str()) {
                    stale.push(doc_id);
                }
            }
            Ok(None) => {}
            Err(err) => tracing::warn!(doc = %doc_id, error = %err, "document skipped"),
        }
    }
    let stock_doc = replica.meta("stock_doc")?;
    replica.write(|w| {
        for doc_id in &stale {
            tracing::warn!(doc = %doc_id, "query tables re-derived from the document");
            derive::refresh_order(w, doc_id)?;
        }
        if let Some(stock_doc) = &stock_doc {
            sync::refresh_stock(w, stock_doc)?;
        }
        Ok(())
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
