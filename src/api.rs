//! Wire types between the core and the UI.
//!
//! The Tauri shell returns these from its commands and the UI receives them as JSON. Their
//! TypeScript declarations are generated into `ui/src/lib/bindings/` by
//! [`export_typescript`]; a test fails when the checked-in files drift from these types.
//! Field names are camelCase on the wire, as TypeScript code expects.

use std::path::Path;

use serde::{Deserialize, Serialize};
use ts_rs::TS;

pub use crate::contract::{Fulfilment, Role, Verification};

/// Who is signed in on this device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct SessionInfo {
    pub staff_id: String,
    pub display_name: String,
    pub role: Role,
}

/// What a device shows in its status bar.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct Status {
    pub store_id: String,
    pub device_id: String,
    pub device_name: String,
    pub central_url: String,
    /// Whether the last exchange with central succeeded.
    pub online: bool,
    /// Write-back events not yet acknowledged by central.
    pub outbox_waiting: u32,
    /// RFC 3339 time of the last successful exchange with central.
    pub last_sync_at: Option<String>,
    /// Why the last exchange with central failed, for a person.
    pub last_error: Option<String>,
    pub session: Option<SessionInfo>,
}

/// Where an order stands in its workflow, as folded from its events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    /// Assigned to the store, nothing picked yet.
    New,
    /// At least one unit picked, lines still open.
    Picking,
    /// Every unit picked, not yet in a bin.
    Picked,
    /// In a staging bin, customer not yet told.
    Staged,
    /// The customer was told to come.
    Ready,
    /// The customer has the goods. Final.
    HandedOver,
    /// Withdrawn by central. Final.
    Cancelled,
}

/// One order in a list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct OrderSummary {
    /// The order's document id (UUIDv5 of the platform id).
    pub id: String,
    pub platform_order_id: String,
    pub order_number: String,
    pub customer_name: String,
    pub fulfilment: Fulfilment,
    pub status: OrderStatus,
    /// RFC 3339.
    pub placed_at: String,
    pub units_ordered: u32,
    pub units_picked: u32,
    pub bin: Option<String>,
    pub cancel_reason: Option<String>,
}

/// One line of an order with its pick progress.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct OrderLineView {
    pub line_id: String,
    pub gtin14: String,
    /// The code as printed on the product, for display.
    pub printed_code: String,
    pub name: String,
    pub ordered: u32,
    /// Units counted toward this line, at most `ordered`.
    pub picked: u32,
    /// Units scanned beyond `ordered` (two devices picking at once); to put back.
    pub over_picked: u32,
}

/// One step in an order's history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct HistoryEntry {
    /// RFC 3339.
    pub at: String,
    /// `item_picked`, `order_staged`, `order_ready`, `order_handed_over`, `order_cancelled`…
    pub kind: String,
    pub associate_id: String,
    pub device_id: String,
    /// A short human description of the step.
    pub detail: String,
}

/// An order with everything the pick, stage and handover screens show.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct OrderDetail {
    pub summary: OrderSummary,
    pub pickup_code: String,
    pub lines: Vec<OrderLineView>,
    pub history: Vec<HistoryEntry>,
}

/// A confirmed pick scan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ScanResult {
    pub line_id: String,
    pub name: String,
    pub printed_code: String,
    /// Units of this line now picked, and ordered.
    pub picked: u32,
    pub ordered: u32,
    /// True when this scan completed the whole order.
    pub order_complete: bool,
    pub order: OrderDetail,
}

/// Which orders a list shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum OrderView {
    /// Work to do: new, picking, picked and staged orders, oldest first.
    Queue,
    /// Ready for pickup, oldest first.
    Counter,
    /// Everything, newest first.
    All,
}

/// A product with this store's stock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ProductView {
    pub gtin14: String,
    pub printed_code: String,
    pub name: String,
    pub brand: Option<String>,
    /// Units in the store; `None` when central never sent stock for this product.
    pub on_hand: Option<i32>,
    /// On hand less units promised to open orders and not yet picked. Negative means oversold.
    pub available: Option<i32>,
}

/// A printable label.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct Label {
    /// The text the barcode encodes, also printed beneath it.
    pub code: String,
    /// A complete SVG document.
    pub svg: String,
}

/// Why a command was refused, for the UI to branch on. Each code has a message for a person.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The scanned product is not on this order.
    WrongItem,
    /// The code is well formed but no product in the catalogue has it.
    UnknownCode,
    /// The code's check digit is wrong: it was misread or mistyped.
    BadCheckDigit,
    /// The text cannot be a barcode of the expected kind.
    NotAScan,
    /// Every unit of this product on this order is already picked.
    OverPick,
    /// The order was cancelled by central.
    OrderCancelled,
    /// The order was already handed over.
    OrderCompleted,
    /// The step does not fit where the order stands (ready before staged…).
    WrongState,
    /// No such order or product.
    NotFound,
    /// Nobody is signed in, or the session ended.
    NotSignedIn,
    /// Staff id and PIN do not match.
    BadPin,
    /// Too many wrong PINs; wait before trying again.
    AccountLocked,
    /// The signed-in role may not do this.
    Forbidden,
    /// The pickup code given does not belong to this order.
    PickupCodeMismatch,
    /// Input that is malformed in another way (empty, too long…).
    Invalid,
    /// The device is not set up against a central yet.
    NotSetUp,
    /// The replica could not be read or written; nothing was changed.
    Storage,
    /// Central could not be reached or answered with an error.
    Central,
}

/// A refusal or failure as the UI receives it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ApiError {
    pub code: ErrorCode,
    pub message: String,
}

/// Writes the TypeScript declarations of every UI wire type into `dir`.
///
/// # Failure
/// Returns the error of the first file that could not be written.
pub fn export_typescript(dir: &Path) -> Result<(), ts_rs::ExportError> {
    let cfg = ts_rs::Config::new()
        .with_out_dir(dir)
        .with_large_int("number");
    SessionInfo::export_all(&cfg)?;
    Status::export_all(&cfg)?;
    OrderSummary::export_all(&cfg)?;
    OrderDetail::export_all(&cfg)?;
    ScanResult::export_all(&cfg)?;
    OrderView::export_all(&cfg)?;
    ProductView::export_all(&cfg)?;
    Label::export_all(&cfg)?;
    ApiError::export_all(&cfg)?;
    Verification::export_all(&cfg)?;
    Ok(())
}
