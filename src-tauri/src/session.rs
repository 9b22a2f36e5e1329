//! Who is working this device: sign-in with staff id and PIN, and sign-out.
//!
//! The PIN is checked by the core against the argon2id hash synced from central, offline. It
//! never reaches a log: the span records the staff id only.

use std::sync::Arc;

use storehand::Device;
use storehand::api::{ApiError, SessionInfo};
use tauri::State;

use crate::call::blocking;

#[tauri::command]
#[tracing::instrument(skip(device, pin))]
pub async fn sign_in(
    device: State<'_, Arc<Device>>,
    staff_id: String,
    pin: String,
) -> Result<SessionInfo, ApiError> {
    blocking(&device, move |d| d.sign_in(&staff_id, &pin)).await
}

/// Only clears the session in memory, so it runs where it is called, with nothing to block on.
#[tauri::command]
#[tracing::instrument(skip(device))]
pub fn sign_out(device: State<'_, Arc<Device>>) -> Result<(), ApiError> {
    device.sign_out();
    Ok(())
}
