//! The status bar: this device, its link to central, the outbox, and who is signed in; and
//! the "sync now" button.
//!
//! A device that was never set up answers `status` with the `not_set_up` code, which the UI
//! shows with what to run; the window opens either way.

use std::sync::Arc;

use storehand::Device;
use storehand::api::{ApiError, Status};
use tauri::State;

use crate::call::{blocking, reply};

#[tauri::command]
#[tracing::instrument(level = "debug", skip(device))]
pub async fn status(device: State<'_, Arc<Device>>) -> Result<Status, ApiError> {
    blocking(&device, |d| d.status()).await
}

/// One exchange with central now, beside the background loop, then the status it left.
#[tauri::command]
#[tracing::instrument(skip(device))]
pub async fn sync_now(device: State<'_, Arc<Device>>) -> Result<Status, ApiError> {
    device.sync().await.map_err(reply)?;
    blocking(&device, |d| d.status()).await
}
