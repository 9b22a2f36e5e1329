//! Peer links over TCP on loopback: encrypted, and closed to anyone without the store's key.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use storehand::Device;
use storehand::api::OrderView;
use storehand::peer::Outcome;
use storehand::peer::transport::{self, Link};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use super::{assert_same, replicated};
use crate::support::{Central, device, run_central, runtime};

/// Serves `device`'s peer endpoint on a free loopback port; returns its address and the
/// switch that stops it.
fn serve(rt: &tokio::runtime::Runtime, device: &Arc<Device>) -> (SocketAddr, impl Drop) {
    let listener = rt.block_on(TcpListener::bind("127.0.0.1:0")).unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, shutdown) = tokio::sync::watch::channel(false);
    rt.spawn(transport::serve(Arc::clone(device), listener, shutdown));
    struct Stop(tokio::sync::watch::Sender<bool>);
    impl Drop for Stop {
        fn drop(&mut self) {
            let _ = self.0.send(true);
        }
    }
    (addr, Stop(stop))
}

/// A relay between a client and `target` that keeps every byte it carries, as someone on the
/// store network could.
async fn eavesdrop(target: SocketAddr, seen: Arc<Mutex<Vec<u8>>>) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let (client, _) = listener.accept().await.unwrap();
        let server = TcpStream::connect(target).await.unwrap();
        let (client_rx, client_tx) = client.into_split();
        let (server_rx, server_tx) = server.into_split();
        let pipe = |mut from: tokio::net::tcp::OwnedReadHalf,
                    mut to: tokio::net::tcp::OwnedWriteHalf,
                    seen: Arc<Mutex<Vec<u8>>>| async move {
            let mut buf = vec![0; 16 * 1024];
            loop {
                let n = match from.read(&mut buf).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => n,
                };
                seen.lock().unwrap().extend_from_slice(&buf[..n]);
                if to.write_all(&buf[..n]).await.is_err() {
                    return;
                }
            }
        };
        tokio::join!(
            pipe(client_rx, server_tx, Arc::clone(&seen)),
            pipe(server_rx, client_tx, seen)
        );
    });
    addr
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

#[test]
fn two_devices_sync_over_an_encrypted_link_and_nothing_readable_crosses_the_wire() {
    let dir = tempfile::tempdir().unwrap();
    let central = Central::demo(dir.path());
    let a = device(dir.path(), "tablet-1", &central);
    let b = device(dir.path(), "tablet-2", &central);
    let order = a
        .order(&a.list_orders(OrderView::Queue).unwrap()[0].id)
        .unwrap();
    a.scan_item(&order.summary.id, &order.lines[0].printed_code)
        .unwrap();

    let rt = runtime();
    let (b_addr, _stop) = serve(&rt, &b);
    let seen = Arc::new(Mutex::new(Vec::new()));
    let relay = rt.block_on(eavesdrop(b_addr, Arc::clone(&seen)));
    let report = rt
        .block_on(transport::sync_with(Arc::clone(&a), relay))
        .unwrap();

    assert_eq!(report.outcome, Some(Outcome::Converged), "{report:?}");
    assert_same(&a, &b);
    assert_eq!(b.order(&order.summary.id).unwrap().summary.units_picked, 1);
    let seen = seen.lock().unwrap();
    assert!(seen.len() > 1_000, "the session crossed the relay");
    for plain in [
        order.summary.id.as_str(),
        order.summary.order_number.as_str(),
        "demo-store",
        "item_picked",
    ] {
        assert!(
            !contains(&seen, plain),
            "{plain:?} crossed the wire readable"
        );
    }
}

#[test]
fn a_device_without_the_store_key_or_of_another_store_gets_nothing_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("central.sqlite3");
    for store in ["demo-store", "other-store"] {
        run_central(&["seed-demo", "--db", db.to_str().unwrap(), "--store", store]);
    }
    let central = Central::start(db, 0);
    let b = device(dir.path(), "tablet-2", &central);
    let stranger = Arc::new(Device::open(&dir.path().join("other-store-tablet")).unwrap());
    let rt = runtime();
    let code = central.enrollment_code("other-store");
    rt.block_on(stranger.enrol(&central.url, &code, "other-tablet"))
        .unwrap();
    let (b_before, stranger_before) = (replicated(&b), replicated(&stranger));
    let (addr, _stop) = serve(&rt, &b);

    // A device of another store holds another key: the handshake fails, no session runs.
    let err = rt
        .block_on(transport::sync_with(Arc::clone(&stranger), addr))
        .unwrap_err();
    assert!(err.to_string().contains("store's key"), "{err}");

    // Nor does anyone who merely guesses at a key.
    let err = rt
        .block_on(Link::connect(addr, &[7; 32]))
        .err()
        .expect("a wrong key is refused");
    assert!(err.to_string().contains("store's key"), "{err}");

    // Nor bytes that are no handshake at all.
    rt.block_on(async {
        let mut raw = TcpStream::connect(addr).await.unwrap();
        raw.write_all(b"\x00\x20not a noise handshake, just bytes")
            .await
            .unwrap();
        let mut answer = Vec::new();
        let _ = raw.read_to_end(&mut answer).await;
        assert!(answer.is_empty(), "answered {answer:?}");
    });

    assert_eq!(replicated(&b), b_before, "b changed nothing");
    assert_eq!(
        replicated(&stranger),
        stranger_before,
        "the stranger learned nothing"
    );
}
