//! The background loop that keeps a device in step with central on its own, without waiting
//! for the next action of a person: the app's shell and `storehand serve` both run it.
//!
//! It syncs every [`INTERVAL`]; after a failure it waits longer each time (doubling up to
//! [`MAX_BACKOFF`], with jitter so that the devices of a store do not retry in lock step) and
//! returns to the normal interval after the first success.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use crate::device::Device;

pub const INTERVAL: Duration = Duration::from_secs(3);
pub const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// Runs until `shutdown` turns true. Waits while the device is not set up.
pub async fn run_sync_loop(device: Arc<Device>, mut shutdown: watch::Receiver<bool>) {
    let mut failures: u32 = 0;
    loop {
        let wait = match device.sync().await {
            Ok(report) => {
                if failures > 0 {
                    tracing::info!(after_failures = failures, "central reachable again");
                }
                failures = 0;
                if report.events_pushed > 0 || report.orders_received > 0 {
                    tracing::info!(
                        pushed = report.events_pushed,
                        orders = report.orders_received,
                        waiting = report.events_waiting,
                        "synced with central"
                    );
                }
                INTERVAL
            }
            Err(err) => {
                failures = failures.saturating_add(1);
                if failures == 1 || failures.is_power_of_two() {
                    tracing::warn!(error = %err, failures, "sync with central failed");
                }
                backoff(failures)
            }
        };
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = shutdown.changed() => {}
        }
        if *shutdown.borrow() {
            return;
        }
    }
}

/// Completes on SIGTERM or Ctrl-C (SIGINT): how `storehand serve` and `storehand-central serve`
/// know to stop cleanly.
pub async fn stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(err) => {
                tracing::warn!(%err, "cannot listen for SIGTERM; only Ctrl-C stops this process");
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// The wait after `failures` failures in a row: doubling from the interval, capped, with up
/// to a quarter added at random.
pub fn backoff(failures: u32) -> Duration {
    let base = INTERVAL
        .saturating_mul(1 << failures.min(8).saturating_sub(1))
        .min(MAX_BACKOFF);
    let jitter = uuid::Uuid::new_v4().as_u128() as u64 % (base.as_millis() as u64 / 4 + 1);
    base + Duration::from_millis(jitter)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_to_its_cap_and_adds_at_most_a_quarter() {
        for failures in 1..20 {
            let wait = backoff(failures);
            let base = INTERVAL
                .saturating_mul(1 << (failures.min(8) - 1))
                .min(MAX_BACKOFF);
            assert!(
                wait >= base && wait <= base + base / 4,
                "{failures}: {wait:?}"
            );
        }
        assert!(backoff(1) < Duration::from_secs(4));
        assert!(backoff(30) >= MAX_BACKOFF);
    }
}
