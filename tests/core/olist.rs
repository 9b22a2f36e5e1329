//! Real Olist orders, converted by central into the contract format for a test store, reach a
//! device as one order document each, every line scannable against the real catalogue.

use std::process::Command;

use storehand::Device;
use storehand::api::OrderView;

use crate::support::{Central, central_bin, run_central, runtime, shared_data};

#[test]
fn real_olist_orders_arrive_on_a_device_with_lines_found_in_the_real_catalogue() {
    let Some(data) = shared_data() else { return };
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("central.sqlite3");
    let db_arg = db.to_str().unwrap();
    let off = data.join("openfoodfacts");
    run_central(&["import-off", "--db", db_arg, off.to_str().unwrap()]);
    run_central(&[
        "add-store",
        "--db",
        db_arg,
        "--store",
        "olist-test",
        "--name",
        "Olist test",
    ]);
    let added = Command::new(central_bin())
        .args([
            "add-associate",
            "--db",
            db_arg,
            "--store",
            "olist-test",
            "--staff-id",
            "1001",
        ])
        .args(["--name", "Test Associate", "--role", "associate"])
        .env("STOREHAND_PIN", "1234")
        .output()
        .unwrap();
    assert!(
        added.status.success(),
        "{}",
        String::from_utf8_lossy(&added.stderr)
    );
    let orders = dir.path().join("olist.jsonl");
    let olist = data.join("olist");
    run_central(&[
        "convert-olist",
        "--olist",
        olist.to_str().unwrap(),
        "--db",
        db_arg,
        "--store",
        "olist-test",
        "--out",
        orders.to_str().unwrap(),
    ]);
    run_central(&["load-orders", "--db", db_arg, orders.to_str().unwrap()]);
    let code = run_central(&["enrollment-code", "--db", db_arg, "--store", "olist-test"]);
    let central = Central::start(db, 0);

    let device = Device::open(&dir.path().join("tablet")).unwrap();
    let report = runtime()
        .block_on(device.enrol(&central.url, code.trim(), "tablet"))
        .unwrap();
    assert_eq!(report.store_id, "olist-test");
    let listed = device.list_orders(OrderView::All).unwrap();
    // 31 Olist orders have lines in the order-items file; each becomes one order document.
    assert_eq!(listed.len(), 31);
    for summary in &listed {
        let id = storehand::order::order_doc_id(&summary.platform_order_id).to_string();
        assert_eq!(
            summary.id, id,
            "the document id derives from the platform id"
        );
        let order = device.order(&summary.id).unwrap();
        for line in &order.lines {
            let found = device.search_products(&line.gtin14).unwrap();
            assert_eq!(
                found.len(),
                1,
                "line {} maps onto a catalogue GTIN",
                line.line_id
            );
        }
    }
}
