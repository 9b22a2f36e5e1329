//! Storehand's Tauri 2 shell: the window, thin commands over the core, and the background
//! sync with central.
//!
//! The shell owns no workflow logic. Each command in [`session`], [`orders`], [`pickup`],
//! [`products`] and [`status`] is one call into [`storehand::Device`], with the core's error
//! turned into the `{code, message}` the UI branches on. What the shell does own is the
//! process: where the data lives ([`launch`]), logging ([`logs`]), and the sync loop that runs
//! beside the window from start to exit, with a last push of the outbox when the window closes
//! or the process is asked to stop.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use storehand::Device;
use tauri::async_runtime::JoinHandle;
use tokio::sync::watch;

mod call;
mod launch;
mod logs;
mod orders;
mod pickup;
mod products;
mod session;
mod status;

/// How long the app waits at exit for a sync in flight to finish, and then for a last push of
/// the outbox, before it leaves anyway. Leaving early loses nothing: every write to the replica
/// is one transaction, and the outbox is pushed again on the next start.
const SYNC_STOP_WAIT: Duration = Duration::from_secs(3);

/// How long a stop signal gives the app to close before it ends at once: both waits above,
/// and some.
const FORCED_EXIT: Duration = Duration::from_secs(10);

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
        .manage(Arc::clone(&device))
        .setup(|app| {
            close_on_stop_signal(app.handle().clone());
            Ok(())
        })
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
    wind_down(&device, stop_sync, sync_task);
    tracing::info!(code, "exit");
    ExitCode::from(u8::try_from(code).unwrap_or(1))
}

/// After the window is gone: stops the sync loop, letting a sync in flight finish, then pushes
/// what is still waiting, each step bounded. Whatever does not get through stays in the
/// outbox on disk and goes at the next start.
fn wind_down(device: &Device, stop_sync: watch::Sender<bool>, sync_task: JoinHandle<()>) {
    let _ = stop_sync.send(true);
    tauri::async_runtime::block_on(async {
        if tokio::time::timeout(SYNC_STOP_WAIT, sync_task)
            .await
            .is_err()
        {
            tracing::warn!("left during a sync with central; it resumes at the next start");
            return;
        }
        let waiting = device.status().map_or(0, |s| s.outbox_waiting);
        if waiting == 0 {
            return;
        }
        match tokio::time::timeout(SYNC_STOP_WAIT, device.sync()).await {
            Ok(Ok(report)) => tracing::info!(pushed = report.events_pushed, "pushed before exit"),
            Ok(Err(err)) => {
                tracing::warn!(error = %err, waiting, "not pushed before exit; next start will")
            }
            Err(_) => tracing::warn!(
                waiting,
                "central too slow before exit; next start will push"
            ),
        }
    });
}

/// Closes the app as if its window were closed on SIGTERM or SIGINT (a kiosk shutting down,
/// Ctrl-C in a terminal), so that [`wind_down`] runs. A second signal, or a close that takes
/// longer than [`FORCED_EXIT`], ends the process at once.
#[cfg(unix)]
fn close_on_stop_signal(app: tauri::AppHandle) {
    use tokio::signal::unix::{SignalKind, signal};

    tauri::async_runtime::spawn(async move {
        let (Ok(mut term), Ok(mut int)) = (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
        ) else {
            tracing::warn!("cannot listen for stop signals; they end the app without a last push");
            return;
        };
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
        tracing::info!("stop signal received; closing");
        app.exit(0);
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
            _ = tokio::time::sleep(FORCED_EXIT) => {}
        }
        tracing::warn!("not closed in time; leaving now");
        std::process::exit(1);
    });
}

/// Other platforms end the app their own way.
#[cfg(not(unix))]
fn close_on_stop_signal(_app: tauri::AppHandle) {}

/// Reports a failure to start, to the log and to whoever started the app from a terminal.
fn fail(message: &str) -> ExitCode {
    tracing::error!(reason = message, "cannot start");
    eprintln!("storehand-app: {message}");
    ExitCode::FAILURE
}
