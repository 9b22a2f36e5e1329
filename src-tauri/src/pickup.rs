//! The pickup counter: find a ready order, hand it over, and show its pickup label.
//!
//! The search text may be a customer's name and the collector is a person's name, so neither
//! is logged; the pickup code is checked by the core and not logged either. The core logs the
//! handover in its own span; the shell's spans are for debugging only.

use std::sync::Arc;

use storehand::Device;
use storehand::api::{ApiError, Label, OrderDetail, OrderSummary, Verification};
use tauri::State;

use crate::call::blocking;

#[tauri::command]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn find_pickup(
    device: State<'_, Arc<Device>>,
    query: String,
) -> Result<Vec<OrderSummary>, ApiError> {
    blocking(&device, move |d| d.find_pickup(&query)).await
}

#[tauri::command]
#[tracing::instrument(level = "debug", skip(device, pickup_code, collected_by))]
pub async fn hand_over(
    device: State<'_, Arc<Device>>,
    order_id: String,
    verification: Verification,
    pickup_code: Option<String>,
    collected_by: Option<String>,
) -> Result<OrderDetail, ApiError> {
    blocking(&device, move |d| {
        d.hand_over(
            &order_id,
            verification,
            pickup_code.as_deref(),
            collected_by.as_deref(),
        )
    })
    .await
}

#[tauri::command]
#[tracing::instrument(level = "debug", skip(device))]
pub async fn pickup_label(
    device: State<'_, Arc<Device>>,
    order_id: String,
) -> Result<Label, ApiError> {
    blocking(&device, move |d| d.pickup_label(&order_id)).await
}
