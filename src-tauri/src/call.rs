//! How a command reaches the core: off the main thread, with the core's error turned into the
//! `{code, message}` the UI receives.
//!
//! The core's calls block on SQLite and, for sign-in, on argon2 for a few tens of milliseconds.
//! On the main thread that would freeze the window, so every blocking call runs on Tokio's
//! blocking pool, inside the command's span so its logs keep their context.

use std::sync::Arc;

use storehand::Device;
use storehand::api::{ApiError, ErrorCode};

/// Runs `f` against the device on the blocking pool.
pub(crate) async fn blocking<T, F>(device: &Arc<Device>, f: F) -> Result<T, ApiError>
where
    T: Send + 'static,
    F: FnOnce(&Device) -> storehand::Result<T> + Send + 'static,
{
    let device = Arc::clone(device);
    let span = tracing::Span::current();
    let outcome = tauri::async_runtime::spawn_blocking(move || span.in_scope(|| f(&device)))
        .await
        .map_err(|err| {
            // Only a panic in the core lands here; the UI gets a message, not a dead window.
            tracing::error!(error = %err, "core call panicked");
            ApiError {
                code: ErrorCode::Storage,
                message: "Storehand hit an internal error; nothing was changed. Try again, \
                          and restart the app if it happens again"
                    .into(),
            }
        })?;
    outcome.map_err(reply)
}

/// The UI's view of a core error. Refusals are expected outcomes, logged only for debugging
/// (the core logs the ones that matter at `warn`); anything else is a fault, logged as such.
pub(crate) fn reply(err: storehand::Error) -> ApiError {
    let reply = err.to_api();
    if err.is_refusal() {
        tracing::debug!(code = ?reply.code, "refused");
    } else {
        tracing::error!(code = ?reply.code, error = %err, "command failed");
    }
    reply
}
