//! Storehand's Tauri 2 shell: the window, thin commands over the core, and the background
//! sync with central.
//!
//! The shell owns no workflow logic. Each command in [`session`], [`orders`], [`pickup`],
//! [`products`] and [`status`] is one call into [`storehand::Device`], with the core's error
//! turned into the `{code, message}` the UI branches on. What the shell does own is the
//! process: where the data lives ([`launch`]), logging ([`logs`]), and the sync loop that runs
//! beside the window from start to exit.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use storehand::Device;
use tokio::sync::watch;

mod call;
pub mod launch;
mod logs;
mod orders;
mod pickup;
mod products;
mod session;
mod status;

/// How long the app waits at exit for a sync in flight to finish before it leaves anyway.
/// Leaving mid-sync loses nothing: every write to the replica is one transaction, and the
/// outbox is pushed again on the next start.
const SYNC_STOP_WAIT: Duration = Duration::from_secs(3);

/// Starts the app and returns when its last window has closed.
pub fn run() -> ExitCode {
    let relaunch_error = launch::prefer_software_rendering();
    logs::init();
    if let Some(err) = relaunch_error {
        tracing::warn!(
            error = %err,
            "could not restart with the DMA-BUF renderer off; the window may stay blank"
        );
    }

    let data_dir = match launch::data_dir() {
        Ok(dir) => dir,
        Err(err) => return fail(&err),
    };
    let device = match Device::open(&data_dir) {
        Ok(device) => Arc::new(device),
        Err(err) => {
            let err = format!(
                "cannot open the device's data in {}: {err}",
                data_dir.display()
            );
            return fail(&err);
        }
    };
    tracing::info!(data_dir = %data_dir.display(), "device opened");

    // The loop waits out "not set up" by itself, so a fresh device opens and shows the UI.
    let (stop_sync, stop_signal) = watch::channel(false);
    let sync_task = tauri::async_runtime::spawn(storehand::node::run_sync_loop(
        Arc::clone(&device),
        stop_signal,
    ));

    let app = tauri::Builder::default()
        .manage(device)
        .invoke_handler(tauri::generate_handler![
            session::sign_in,
            session::sign_out,
            status::status,
            status::sync_now,
            orders::list_orders,
            orders::get_order,
            orders::scan_item,
            orders::stage_order,
            orders::mark_ready,
            pickup::find_pickup,
            pickup::hand_over,
            pickup::pickup_label,
            products::search_products,
        ])
        .build(tauri::generate_context!("../tauri.conf.json"));
    let app = match app {
        Ok(app) => app,
        Err(err) => return fail(&format!("cannot start the window: {err}")),
    };

    let code = app.run_return(|_app, _event| {});

    // The window is gone; let a sync in flight finish, briefly.
    let _ = stop_sync.send(true);
    let stopped = tauri::async_runtime::block_on(async {
        tokio::time::timeout(SYNC_STOP_WAIT, sync_task).await
    });
    if stopped.is_err() {
        tracing::warn!("left during a sync with central; it resumes at the next start");
    }
    tracing::info!(code, "exit");
    ExitCode::from(u8::try_from(code).unwrap_or(1))
}

/// Reports a failure to start, to the log and to whoever started the app from a terminal.
fn fail(message: &str) -> ExitCode {
    tracing::error!(reason = message, "cannot start");
    eprintln!("storehand-app: {message}");
    ExitCode::FAILURE
}
