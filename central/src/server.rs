//! The server: binds, announces its address, accepts connections and stops cleanly.
//!
//! It runs its own accept loop over hyper (rather than `axum::serve`) for one reason: fault
//! injection must be able to close a connection after an event batch is committed and before
//! any byte of the answer is written, which is what a response lost on the network looks like
//! to a device. Each connection gets a [`ConnectionKill`]; notifying it drops the connection.
//!
//! On SIGTERM or Ctrl-C it stops accepting, lets requests in flight finish (up to
//! [`DRAIN_TIMEOUT`]) and returns.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::Notify;
use tower::ServiceExt;

use crate::db::{self, Db};
use crate::devices;
use crate::error::{Error, Result};
use crate::http::{self, AppState, ConnectionKill, Faults};

/// How long requests in flight may take to finish after a stop signal.
pub const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

/// The shortest admin token accepted.
pub const MIN_ADMIN_TOKEN: usize = 8;

/// What `serve` needs.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    pub db: PathBuf,
    pub listen: SocketAddr,
    /// Secret: never logged.
    pub admin_token: Option<String>,
}

/// Serves the API until SIGTERM or Ctrl-C.
///
/// The first line on stdout is `listening on http://ADDR`, flushed, once the port is bound.
///
/// # Failure
/// A refusal for an admin token shorter than [`MIN_ADMIN_TOKEN`]; [`Error::Io`] when the
/// address cannot be bound; the database's errors when it cannot be opened.
pub async fn serve(config: ServeConfig) -> Result<()> {
    let admin_token_hash = match &config.admin_token {
        Some(token) if token.chars().count() < MIN_ADMIN_TOKEN => {
            return Err(Error::invalid(
                "weak_admin_token",
                format!("the admin token must have at least {MIN_ADMIN_TOKEN} characters"),
            ));
        }
        Some(token) => Some(devices::secret_hash(token)),
        None => None,
    };
    let conn = db::open(&config.db)?;
    let state = AppState {
        db: Db::new(conn),
        admin_token_hash,
        faults: Arc::new(Faults::default()),
    };
    let app = http::router(state);

    let listener = TcpListener::bind(config.listen)
        .await
        .map_err(|e| Error::io(format!("listen address {}", config.listen), e))?;
    let addr = listener
        .local_addr()
        .map_err(|e| Error::io("listener", e))?;
    announce(addr)?;
    let admin = config.admin_token.is_some();
    tracing::info!(%addr, db = %config.db.display(), admin, "serving");

    let graceful = GracefulShutdown::new();
    let stop = storehand::node::stop_signal();
    tokio::pin!(stop);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(err) => {
                    // Out of file descriptors and the like: wait a moment rather than spin.
                    tracing::warn!(%err, "accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut stop => break,
        };
        let kill = Arc::new(Notify::new());
        let switch = ConnectionKill(Arc::clone(&kill));
        let app = app.clone();
        let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
            request.extensions_mut().insert(switch.clone());
            app.clone().oneshot(request)
        });
        let connection = http1::Builder::new().serve_connection(TokioIo::new(stream), service);
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            tokio::select! {
                result = connection => {
                    if let Err(err) = result {
                        tracing::debug!(%peer, %err, "connection ended with an error");
                    }
                }
                () = kill.notified() => {
                    tracing::warn!(%peer, "connection dropped without a response (fault)");
                }
            }
        });
    }

    drop(listener);
    tracing::info!("stop signal received: finishing requests in flight");
    tokio::select! {
        () = graceful.shutdown() => tracing::info!("stopped"),
        () = tokio::time::sleep(DRAIN_TIMEOUT) => {
            tracing::warn!(timeout = ?DRAIN_TIMEOUT, "requests still open; stopping anyway");
        }
    }
    Ok(())
}

/// Prints the address line scripts and tests wait for.
fn announce(addr: SocketAddr) -> Result<()> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "listening on http://{addr}").map_err(|e| Error::io("stdout", e))?;
    out.flush().map_err(|e| Error::io("stdout", e))
}
