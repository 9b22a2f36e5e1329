//! The order queue and the pick, stage and ready steps.
//!
//! Scans arrive as the raw text a keyboard-wedge scanner or a person typed; the core parses
//! and checks them, so the shell passes them through untouched and never logs them. The core
//! logs each step in its own span; the shell's spans are for debugging only.

use std::sync::Arc;

use storehand::Device;
use storehand::api::{ApiError, OrderDetail, OrderSummary, OrderView, ScanResult};
use tauri::State;

use crate::call::blocking;

#[tauri::command]
#[tracing::instrument(level = "debug", skip(device))]
pub async fn list_orders(
    device: State<'_, Arc<Device>>,
    view: OrderView,
) -> Result<Vec<OrderSummary>, ApiError> {
    blocking(&device, move |d| d.list_orders(view)).await
}

#[tauri::command]
#[tracing::instrument(level = "debug", skip(device))]
pub async fn get_order(
    device: State<'_, Arc<Device>>,
    order_id: String,
) -> Result<OrderDetail, ApiError> {
    blocking(&device, move |d| d.order(&order_id)).await
}

#[tauri::command]
#[tracing::instrument(level = "debug", skip(device, text))]
pub async fn scan_item(
    device: State<'_, Arc<Device>>,
    order_id: String,
    text: String,
) -> Result<ScanResult, ApiError> {
    blocking(&device, move |d| d.scan_item(&order_id, &text)).await
}

#[tauri::command]
#[tracing::instrument(level = "debug", skip(device))]
pub async fn stage_order(
    device: State<'_, Arc<Device>>,
    order_id: String,
    bin_text: String,
) -> Result<OrderDetail, ApiError> {
    blocking(&device, move |d| d.stage_order(&order_id, &bin_text)).await
}

#[tauri::command]
#[tracing::instrument(level = "debug", skip(device))]
pub async fn mark_ready(
    device: State<'_, Arc<Device>>,
    order_id: String,
) -> Result<OrderDetail, ApiError> {
    blocking(&device, move |d| d.mark_ready(&order_id)).await
}
