//! Peer sync between devices enrolled in one store at a real central: convergence, durability
//! of what a peer sent, and what it costs. The seeded simulation and the conflict rules live
//! beside this file and are its submodules.

use std::path::Path;

use storehand::Device;
use storehand::api::OrderView;
use storehand::peer::{self, Next, Session};

use crate::support::{Central, device, dump, rusqlite_open};

#[path = "peer_conflicts.rs"]
mod conflicts;
#[path = "peer_sim.rs"]
mod sim;
#[path = "peer_tcp.rs"]
mod tcp;

/// What peer sync must make equal on every device: the heads of every document and the query
/// tables derived from them (outbox rows without the local retry counters).
pub fn replicated(device: &Device) -> String {
    replicated_at(&device.data_dir().join("replica.sqlite3"))
}

pub fn replicated_at(replica: &Path) -> String {
    dump(
        replica,
        &[
            "SELECT doc_id, kind, heads FROM docs ORDER BY doc_id",
            "SELECT * FROM orders ORDER BY doc_id",
            "SELECT * FROM order_lines ORDER BY doc_id, line_id",
            "SELECT * FROM stock ORDER BY gtin14",
            "SELECT event_id, doc_id, kind, body, state, acked_at FROM outbox ORDER BY event_id",
        ],
    )
}

/// Asserts two devices hold the same replicated state, naming the first line that differs.
#[track_caller]
pub fn assert_same(a: &Device, b: &Device) {
    let (left, right) = (replicated(a), replicated(b));
    if left != right {
        let first = left
            .lines()
            .zip(right.lines())
            .find(|(l, r)| l != r)
            .map(|(l, r)| format!("{l}\n  vs\n{r}"))
            .unwrap_or_else(|| "one has more rows".to_owned());
        panic!(
            "{} and {} differ: {first}",
            a.data_dir().display(),
            b.data_dir().display()
        );
    }
}

/// Order rows whose recorded heads differ from their document's: must always be none.
pub fn stale_rows(device: &Device) -> i64 {
    rusqlite_open(&device.data_dir().join("replica.sqlite3"))
        .query_row(
            "SELECT COUNT(*) FROM orders o JOIN docs d USING (doc_id) WHERE o.heads != d.heads",
            [],
            |r| r.get(0),
        )
        .unwrap()
}

#[test]
fn two_enrolled_devices_converge_on_every_order_and_the_stock_in_one_session() {
    let dir = tempfile::tempdir().unwrap();
    let central = Central::demo(dir.path());
    let a = device(dir.path(), "tablet-1", &central);
    let b = device(dir.path(), "tablet-2", &central);
    let queue = a.list_orders(OrderView::Queue).unwrap();
    let (first, second) = (
        a.order(&queue[0].id).unwrap(),
        b.order(&queue[1].id).unwrap(),
    );
    a.scan_item(&first.summary.id, &first.lines[0].printed_code)
        .unwrap();
    b.scan_item(&second.summary.id, &second.lines[0].printed_code)
        .unwrap();
    assert_ne!(replicated(&a), replicated(&b));

    let run = peer::exchange(&a, &b).unwrap();
    let conn = rusqlite_open(&b.data_dir().join("replica.sqlite3"));
    let mut st = conn
        .prepare("SELECT reason, payload FROM quarantine")
        .unwrap();
    let rows: Vec<(String, String)> = st
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    eprintln!("DEBUG {rows:?}");
    assert!(run.converged(), "{run:?}");
    // Each device wrote central's cancels into its own copies of the cancelled orders.
    let cancelled = a
        .list_orders(OrderView::All)
        .unwrap()
        .iter()
        .filter(|o| o.status == storehand::api::OrderStatus::Cancelled)
        .count();
    assert!(cancelled > 0, "the demo store has cancelled orders");
    assert_eq!(
        run.initiator.docs_in_session,
        3 + cancelled,
        "the picked orders, the stock and the cancelled orders differ, nothing else: {run:?}"
    );
    assert_same(&a, &b);
    assert_eq!(b.order(&first.summary.id).unwrap().summary.units_picked, 1);
    assert_eq!(a.order(&second.summary.id).unwrap().summary.units_picked, 1);
    assert_eq!(
        a.order(&second.summary.id).unwrap().history[0].device_id,
        b.identity().unwrap().device_id.to_string(),
        "the history says which device picked"
    );
}

#[test]
fn a_change_from_a_peer_is_on_disk_with_its_query_rows_before_the_answer_leaves() {
    let dir = tempfile::tempdir().unwrap();
    let central = Central::demo(dir.path());
    let a = device(dir.path(), "tablet-1", &central);
    let b = device(dir.path(), "tablet-2", &central);
    let order = a
        .order(&a.list_orders(OrderView::Queue).unwrap()[0].id)
        .unwrap();
    a.scan_item(&order.summary.id, &order.lines[0].printed_code)
        .unwrap();

    // Run the session by hand and stop b the moment it has an answer to send: the answer is
    // never delivered, as if b lost power right after.
    let (mut sa, hello) = Session::initiate(&a).unwrap();
    let mut sb = Session::respond(&b).unwrap();
    let mut to_b = hello;
    let applied = loop {
        let Next::Send(answer) = sb.receive(&b, &to_b).unwrap() else {
            panic!("b finished before it received the pick");
        };
        if b.order(&order.summary.id).unwrap().summary.units_picked == 1 {
            break answer;
        }
        let Next::Send(next) = sa.receive(&a, &answer).unwrap() else {
            panic!("a finished before b received the pick");
        };
        to_b = next;
    };
    assert!(!applied.is_empty());
    drop(sb);
    drop(b);

    let b = Device::open(&dir.path().join("tablet-2")).unwrap();
    let after = b.order(&order.summary.id).unwrap();
    assert_eq!(
        after.summary.units_picked, 1,
        "the pick survived the power cut"
    );
    assert_eq!(stale_rows(&b), 0, "the query rows reflect the document");
    let stock = |d: &Device| d.search_products(&order.lines[0].printed_code).unwrap()[0].on_hand;
    assert_eq!(stock(&b), stock(&a), "the stock movement came with it");

    b.sign_in("1002", "2345").unwrap();
    let run = peer::exchange(&b, &a).unwrap();
    assert!(run.converged());
    assert_same(&a, &b);
}

#[test]
fn a_peer_reconnecting_after_one_scan_sends_only_that_order() {
    let dir = tempfile::tempdir().unwrap();
    let central = Central::demo(dir.path());
    let a = device(dir.path(), "tablet-1", &central);
    let b = device(dir.path(), "tablet-2", &central);
    let queue = a.list_orders(OrderView::Queue).unwrap();
    for summary in &queue {
        let order = a.order(&summary.id).unwrap();
        a.scan_item(&order.summary.id, &order.lines[0].printed_code)
            .unwrap();
    }
    let first = peer::exchange(&a, &b).unwrap();
    assert!(first.converged());

    let order = a.order(&queue[0].id).unwrap();
    let line = order.lines.iter().find(|l| l.picked < l.ordered).unwrap();
    a.scan_item(&order.summary.id, &line.printed_code).unwrap();
    let again = peer::exchange(&a, &b).unwrap();
    assert!(again.converged());
    assert_eq!(
        again.initiator.docs_in_session, 2,
        "the order and the stock document: {again:?}"
    );
    assert_same(&a, &b);
}
