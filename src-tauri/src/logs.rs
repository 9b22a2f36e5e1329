//! Logging, set up once for the whole process: the core, Tauri and the shell all log through
//! `tracing` to standard error (coloured only on a terminal), filtered by `STOREHAND_LOG` (an
//! `EnvFilter` directive such as `debug` or `storehand=debug,info`), `info` by default.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

/// The environment variable holding the log filter.
pub const FILTER_VAR: &str = "STOREHAND_LOG";

pub(crate) fn init() {
    let given = std::env::var(FILTER_VAR).ok();
    let (filter, rejected) = match given.as_deref().map(EnvFilter::try_new) {
        None => (EnvFilter::new("info"), None),
        Some(Ok(filter)) => (filter, None),
        Some(Err(err)) => (EnvFilter::new("info"), Some(err)),
    };
    // `try_init` also routes the `log` records of Tauri and its crates into `tracing`. It fails
    // only when a subscriber is already set, which a second call from a test would do.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .try_init();
    if let Some(err) = rejected {
        tracing::warn!(error = %err, var = FILTER_VAR, "log filter not understood; using info");
    }
}
