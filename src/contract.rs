//! The versioned store contract: every message that crosses between a store device and the
//! central eCommerce platform.
//!
//! These are wire types. They are serialised as JSON, their JSON Schema is generated into
//! `contracts/` (see [`schemas`]) and checked in, and a test fails when the checked-in schemas
//! drift from these types. A breaking change bumps [`CONTRACT_VERSION`] and the URL prefix.
//!
//! Endpoints (all JSON, all under `/v1`; every one except enrollment and health needs the
//! device's bearer token, and the platform side the admin token):
//!
//! | method and path | body | answer |
//! | --- | --- | --- |
//! | `POST /v1/enroll` (the code is the credential) | [`Enrollment`] | [`EnrollmentGrant`] |
//! | `POST /v1/stores/{s}/enrollment-codes` † | [`EnrollmentCodeRequest`] | [`EnrollmentCode`] |
//! | `GET /v1/catalogue?after=N&limit=M` | | [`CataloguePage`] |
//! | `GET /v1/stores/{store}/associates` | | [`AssociateList`] |
//! | `GET /v1/stores/{store}/stock` | | [`StockSnapshot`] |
//! | `GET /v1/stores/{store}/orders/feed?after=N&limit=M` | | [`OrderFeedPage`] |
//! | `POST /v1/stores/{store}/events` | [`EventBatch`] | [`EventBatchResponse`] |
//! | `POST /v1/orders` † | [`OrderSpec`] | [`FeedItem`] |
//! | `POST /v1/orders/{platform_order_id}/cancel` † | [`CancelRequest`] | [`FeedItem`] |
//! | `GET /v1/health` (no token) | | [`Health`] |
//!
//! † The platform side, with the admin token. Errors come back as a non-2xx status with an
//! [`ErrorBody`].

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use ts_rs::TS;
use uuid::Uuid;

/// The version of this contract; it is also the URL prefix (`/v1`).
pub const CONTRACT_VERSION: u32 = 1;

/// How an order reaches the customer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema, TS)]
#[serde(rename_all = "snake_case")]
pub enum Fulfilment {
    /// Buy online, pick up in store.
    Bopis,
    /// Ship from store.
    ShipFromStore,
}

/// Store staff roles, lowest first. A role may do everything the roles before it may.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema, TS,
)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Associate,
    Lead,
    Manager,
}

/// The platform asks central for a one-time enrollment code for a store.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
pub struct EnrollmentCodeRequest {
    /// How long the code stays valid; 24 hours when absent, at most 7 days.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_minutes: Option<u32>,
}

/// A one-time enrollment code: whoever holds it may join one device to the store, once.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct EnrollmentCode {
    pub store_id: String,
    /// `XXXX-XXXX-XXXX` from the pickup-code alphabet. Secret until used: never logged.
    pub code: String,
    /// RFC 3339.
    pub expires_at: String,
}

/// A device joins a store with an enrollment code.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct Enrollment {
    pub code: String,
    /// A name a person gave the device, such as "counter-1".
    pub device_name: String,
}

/// What central issues to an enrolled device.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct EnrollmentGrant {
    pub store_id: String,
    pub device_id: Uuid,
    /// Bearer token for every later request. Secret: never logged.
    pub token: String,
    /// The store's sync key (32 bytes as 64 hex digits): devices of the store authenticate
    /// and encrypt their links to each other with it. Secret: never logged.
    pub sync_key: String,
}

/// One product of the central catalogue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CatalogueProduct {
    /// The code normalised to 14 digits with a valid check digit; the key for every lookup.
    pub gtin14: String,
    /// The code as the source printed it (8, 12 or 13 digits usually), kept for display.
    pub printed_code: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub brand: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_url: Option<String>,
}

/// A page of the catalogue feed, read with a cursor.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct CataloguePage {
    pub items: Vec<CatalogueProduct>,
    /// Pass as `after` to read the next page. Equal to the request's `after` when nothing is new.
    pub next_cursor: u64,
    /// True when this page reached the end of the feed.
    pub done: bool,
}

/// An associate of the store, with the PIN hash a device verifies offline.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct AssociateRecord {
    pub staff_id: String,
    pub display_name: String,
    pub role: Role,
    /// The PIN's argon2id hash in PHC string form. Never the PIN.
    pub pin_hash: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct AssociateList {
    pub store_id: String,
    pub associates: Vec<AssociateRecord>,
}

/// Stock on hand in one store as central (the warehouse system) last counted it.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct StockSnapshot {
    pub store_id: String,
    /// Identifies this snapshot. Device movements recorded against an earlier epoch are rebased
    /// when a new one arrives.
    pub epoch: String,
    pub levels: Vec<StockLevel>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct StockLevel {
    pub gtin14: String,
    pub on_hand: i64,
}

/// One line of an order: a product and how many units of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct OrderLineSpec {
    /// Stable within the order (the platform's line number).
    pub line_id: String,
    pub gtin14: String,
    pub name: String,
    pub quantity: u32,
}

/// An order as the platform creates it for a store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct OrderSpec {
    /// The platform's id; a device derives the order's document id from it.
    pub platform_order_id: String,
    /// The number a customer quotes at the counter.
    pub order_number: String,
    pub store_id: String,
    pub fulfilment: Fulfilment,
    /// How the customer is addressed at the counter. Contact details never reach the device.
    pub customer_name: String,
    /// The code printed in the customer's "ready" message and on the pickup label.
    pub pickup_code: String,
    /// RFC 3339.
    pub placed_at: String,
    pub lines: Vec<OrderLineSpec>,
}

/// The platform withdraws an order.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct CancelRequest {
    pub reason: String,
}

/// One entry of a store's order feed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct FeedItem {
    /// Position in the feed; strictly increasing.
    pub seq: u64,
    #[serde(flatten)]
    pub body: FeedBody,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum FeedBody {
    OrderCreated {
        order: OrderSpec,
    },
    OrderCancelled {
        platform_order_id: String,
        /// Unique per cancellation; a device derives the cancel event's id from it.
        cancel_id: String,
        reason: String,
        /// RFC 3339.
        at: String,
    },
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct OrderFeedPage {
    pub items: Vec<FeedItem>,
    pub next_cursor: u64,
}

/// How the person collecting an order proved they may.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema, TS)]
#[serde(rename_all = "snake_case")]
pub enum Verification {
    /// The customer's pickup code was scanned or typed and matched.
    PickupCode,
    /// The associate checked a photo id against the order's name.
    PhotoId,
}

/// A line as picked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct PickedLine {
    pub line_id: String,
    pub gtin14: String,
    pub quantity: u32,
}

/// A step of fulfilment that the store writes back to central.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum EventBody {
    /// Every line is picked.
    OrderPicked { lines: Vec<PickedLine> },
    /// The picked order is in a staging bin.
    OrderStaged { bin: String },
    /// The order is staged and the customer may come; central notifies them.
    OrderReady,
    /// The customer has the goods. Only this completes an order.
    OrderHandedOver {
        verification: Verification,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        collected_by: Option<String>,
    },
}

impl EventBody {
    /// The `type` tag as it appears on the wire.
    pub fn kind(&self) -> &'static str {
        match self {
            EventBody::OrderPicked { .. } => "order_picked",
            EventBody::OrderStaged { .. } => "order_staged",
            EventBody::OrderReady => "order_ready",
            EventBody::OrderHandedOver { .. } => "order_handed_over",
        }
    }
}

/// One write-back event. `event_id` is a UUIDv7 and the idempotency key: central stores an
/// event once however often it arrives.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct StoreEvent {
    pub event_id: Uuid,
    pub store_id: String,
    pub device_id: Uuid,
    pub associate_id: String,
    /// RFC 3339, the device's clock when the step was confirmed.
    pub occurred_at: String,
    pub platform_order_id: String,
    #[serde(flatten)]
    pub body: EventBody,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct EventBatch {
    pub events: Vec<StoreEvent>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum AckStatus {
    /// First time central saw this event; it is stored and its effects happened.
    Stored,
    /// Central already had this event id, or an event of the same one-shot kind for the same
    /// order; nothing happened again.
    Duplicate,
    /// Central will never accept this event (unknown order, wrong store). Not retried.
    Rejected,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct EventAck {
    pub event_id: Uuid,
    pub status: AckStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct EventBatchResponse {
    /// One acknowledgement per event of the batch, in the batch's order.
    pub acks: Vec<EventAck>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct Health {
    pub contract_version: u32,
    pub service: String,
}

/// The body of every error answer.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct ErrorBody {
    /// A short machine-readable code, such as `unknown_store` or `bad_request`.
    pub code: String,
    /// What was wrong and what to do, for a person.
    pub message: String,
}

/// The most characters a name or free-text field of the contract may have.
pub const MAX_TEXT: usize = 200;

/// The contract's rule for names and free text (customer and pickup-person names, device
/// names, reasons): something besides spaces, at most [`MAX_TEXT`] characters, no control
/// characters (a line break in a name is a paste gone wrong, and breaks every log and label).
///
/// # Failure
/// A message for a person naming `field` and what is wrong with it.
pub fn check_text(field: &str, text: &str) -> Result<(), String> {
    if text.trim().is_empty() {
        return Err(format!("{field} is empty; give one"));
    }
    let chars = text.chars().count();
    if chars > MAX_TEXT {
        return Err(format!(
            "{field} has {chars} characters; at most {MAX_TEXT} fit"
        ));
    }
    if text.chars().any(char::is_control) {
        return Err(format!(
            "{field} has control characters (such as a line break); remove them"
        ));
    }
    Ok(())
}

/// Every message type with its schema file name, for generating `contracts/`.
pub fn schemas() -> Vec<(&'static str, schemars::Schema)> {
    vec![
        (
            "enrollment-code-request.v1.json",
            schemars::schema_for!(EnrollmentCodeRequest),
        ),
        (
            "enrollment-code.v1.json",
            schemars::schema_for!(EnrollmentCode),
        ),
        ("enrollment.v1.json", schemars::schema_for!(Enrollment)),
        (
            "enrollment-grant.v1.json",
            schemars::schema_for!(EnrollmentGrant),
        ),
        (
            "catalogue-page.v1.json",
            schemars::schema_for!(CataloguePage),
        ),
        (
            "associate-list.v1.json",
            schemars::schema_for!(AssociateList),
        ),
        (
            "stock-snapshot.v1.json",
            schemars::schema_for!(StockSnapshot),
        ),
        ("order-spec.v1.json", schemars::schema_for!(OrderSpec)),
        (
            "cancel-request.v1.json",
            schemars::schema_for!(CancelRequest),
        ),
        ("feed-item.v1.json", schemars::schema_for!(FeedItem)),
        (
            "order-feed-page.v1.json",
            schemars::schema_for!(OrderFeedPage),
        ),
        ("event-batch.v1.json", schemars::schema_for!(EventBatch)),
        (
            "event-batch-response.v1.json",
            schemars::schema_for!(EventBatchResponse),
        ),
        ("health.v1.json", schemars::schema_for!(Health)),
        ("error-body.v1.json", schemars::schema_for!(ErrorBody)),
    ]
}
