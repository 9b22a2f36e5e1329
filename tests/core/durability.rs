//! What a crash, a power cut or a second writer may do to a replica, and what it must not:
//! lose a confirmed change, start a document empty, or fail with "database is locked".

use std::sync::Arc;

use storehand::Device;
use storehand::api::{OrderDetail, OrderView};

use crate::support::{Central, device, runtime};

/// The queued order with the most units.
fn biggest_order(device: &Device) -> OrderDetail {
    let queue = device.list_orders(OrderView::Queue).unwrap();
    let id = queue
        .iter()
        .max_by_key(|o| o.units_ordered)
        .unwrap()
        .id
        .clone();
    device.order(&id).unwrap()
}

fn units(order: &OrderDetail) -> Vec<String> {
    let mut codes = Vec::new();
    for line in &order.lines {
        for _ in 0..line.ordered {
            codes.push(line.printed_code.clone());
        }
    }
    codes
}

#[test]
fn a_document_whose_last_chunk_was_cut_short_keeps_what_came_before_and_reports_the_loss() {
    let dir = tempfile::tempdir().unwrap();
    let central = Central::demo(dir.path());
    let tablet = device(dir.path(), "tablet-1", &central);
    let order = biggest_order(&tablet);
    assert!(
        order.summary.units_ordered >= 4,
        "the demo's biggest order has 4 units or more"
    );
    let codes = units(&order);
    for code in &codes[..3] {
        tablet.scan_item(&order.summary.id, code).unwrap();
    }
    drop(tablet);

    // A power cut while the disk wrote the last change: its chunk is cut short.
    let replica = dir.path().join("tablet-1/replica.sqlite3");
    let conn = rusqlite::Connection::open(&replica).unwrap();
    let cut = conn
        .execute(
            "UPDATE doc_chunks SET bytes = substr(bytes, 1, length(bytes) - 8)
             WHERE doc_id = ?1 AND seq = (SELECT MAX(seq) FROM doc_chunks WHERE doc_id = ?1)",
            [&order.summary.id],
        )
        .unwrap();
    assert_eq!(cut, 1);
    drop(conn);

    let tablet = Device::open(&dir.path().join("tablet-1")).unwrap();
    let after = tablet.order(&order.summary.id).unwrap();
    assert_eq!(
        after.summary.units_picked, 2,
        "the two earlier picks survived"
    );
    assert_eq!(after.history.len(), 2);
    let listed = tablet.list_orders(OrderView::All).unwrap();
    let row = listed.iter().find(|o| o.id == order.summary.id).unwrap();
    assert_eq!(
        row.units_picked, 2,
        "the query tables were re-derived from the document"
    );
    let conn = rusqlite::Connection::open(&replica).unwrap();
    let reports: Vec<String> = conn
        .prepare("SELECT reason FROM quarantine WHERE source = 'document'")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(reports.len(), 1, "the loss is reported once: {reports:?}");
    assert!(reports[0].contains("unreadable"), "{}", reports[0]);

    // Work goes on, and the document is whole again on disk.
    tablet.sign_in("1001", "1234").unwrap();
    tablet.scan_item(&order.summary.id, &codes[2]).unwrap();
    drop(tablet);
    let tablet = Device::open(&dir.path().join("tablet-1")).unwrap();
    assert_eq!(
        tablet
            .order(&order.summary.id)
            .unwrap()
            .summary
            .units_picked,
        3
    );
    let reports: i64 = conn
        .query_row(
            "SELECT COUNT(*) FROM quarantine WHERE source = 'document'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(reports, 1, "no new loss after the rewrite");
}

#[test]
fn two_processes_writing_one_replica_while_it_syncs_never_see_database_is_locked() {
    let dir = tempfile::tempdir().unwrap();
    let central = Central::demo(dir.path());
    let app = device(dir.path(), "tablet-1", &central);
    // A second handle on the same files, as the CLI beside a running app would have.
    let cli = Arc::new(Device::open(&dir.path().join("tablet-1")).unwrap());
    cli.sign_in("1002", "2345").unwrap();
    let queue = app.list_orders(OrderView::Queue).unwrap();
    let (a, b) = (
        app.order(&queue[0].id).unwrap(),
        app.order(&queue[1].id).unwrap(),
    );

    let picker = |device: Arc<Device>, order: OrderDetail| {
        std::thread::spawn(move || {
            for code in units(&order) {
                device.scan_item(&order.summary.id, &code).unwrap();
            }
        })
    };
    let first = picker(Arc::clone(&app), a.clone());
    let second = picker(Arc::clone(&cli), b.clone());
    let syncing = {
        let app = Arc::clone(&app);
        std::thread::spawn(move || {
            let rt = runtime();
            for _ in 0..5 {
                rt.block_on(app.sync()).unwrap();
            }
        })
    };
    first.join().expect("the app's picks all succeeded");
    second.join().expect("the CLI's picks all succeeded");
    syncing.join().expect("every sync succeeded");

    for order in [&a, &b] {
        let now = app.order(&order.summary.id).unwrap();
        assert_eq!(now.summary.units_picked, order.summary.units_ordered);
    }
    let reopened = Device::open(&dir.path().join("tablet-1")).unwrap();
    assert_eq!(
        reopened.order(&b.summary.id).unwrap().summary.units_picked,
        b.summary.units_ordered
    );
}
