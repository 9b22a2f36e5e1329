//! Wire types of the admin endpoints, which tests and operators use to look inside central.
//!
//! They are not part of the store contract (devices never call them), so they live here
//! rather than in `storehand::contract`.

use serde::{Deserialize, Serialize};
use storehand::contract::StoreEvent;
use uuid::Uuid;

/// An event as central stored it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredEvent {
    /// Position in central's arrival order (increasing across all stores).
    pub arrival: u64,
    /// RFC 3339, central's clock when it stored the event.
    pub received_at: String,
    /// The device whose token pushed it (not necessarily the device that recorded it).
    pub via_device_id: Uuid,
    pub event: StoreEvent,
}

/// `GET /v1/admin/orders/{platform_order_id}/events`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderEvents {
    pub platform_order_id: String,
    /// In arrival order.
    pub events: Vec<StoredEvent>,
}

/// A record that the customer was told their order is ready.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notification {
    /// The `order_ready` event that caused it.
    pub event_id: Uuid,
    /// How the customer was told, such as `email`.
    pub channel: String,
    /// RFC 3339.
    pub notified_at: String,
}

/// `GET /v1/admin/orders/{platform_order_id}/notifications`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderNotifications {
    pub platform_order_id: String,
    pub notifications: Vec<Notification>,
}

/// `POST /v1/admin/faults`: faults to inject into the next requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultPlan {
    /// The next this-many event batches are stored and committed, then their connection is
    /// closed without any HTTP response, as when a response is lost on the network.
    pub drop_event_responses: u32,
}

/// The answer to `POST /v1/admin/faults`: what is armed now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArmedFaults {
    pub drop_event_responses: u32,
}
