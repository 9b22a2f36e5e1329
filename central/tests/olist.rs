//! Olist orders converted for a test store. The real files are read where they lie; nothing
//! derived from them is written anywhere but temporary folders.

use std::collections::HashSet;
use std::path::Path;

use storehand::contract::FeedBody;
use storehand_central::olist::{self, SkipReason};
use storehand_central::{catalogue, db, orders, pickup::PickupCode};

use crate::support::{arg, cli, cli_ok, shared_data};

/// A database with the real catalogue and a store `olist-test`.
fn prepared(dir: &Path, data: &Path) -> std::path::PathBuf {
    let db = dir.join("central.sqlite3");
    cli_ok(&[
        "import-off",
        "--db",
        arg(&db),
        arg(&data.join("openfoodfacts")),
    ]);
    cli_ok(&[
        "add-store",
        "--db",
        arg(&db),
        "--store",
        "olist-test",
        "--name",
        "Olist test",
    ]);
    db
}

#[test]
fn the_real_olist_orders_convert_with_counts_by_status() {
    let Some(data) = shared_data() else { return };
    let dir = tempfile::tempdir().unwrap();
    let db_path = prepared(dir.path(), &data);
    let conn = db::open(&db_path).unwrap();
    let (entries, report) = olist::convert(&data.join("olist"), &conn, "olist-test").unwrap();

    assert_eq!(report.orders_seen, 4998);
    assert_eq!(report.item_rows, 999);
    assert_eq!(
        report.unreadable_item_rows, 0,
        "every quoting variant of the items file reads"
    );
    // Only 31 orders appear in both files, all of them delivered.
    assert_eq!(report.converted.get("delivered"), Some(&31));
    assert_eq!(report.converted_total(), 31);
    let no_lines = &report.skipped[&SkipReason::NoLines];
    assert_eq!(no_lines.get("delivered"), Some(&4825));
    assert_eq!(no_lines.get("canceled"), Some(&25));
    assert_eq!(no_lines.get("unavailable"), Some(&24));
    assert_eq!(no_lines.get("shipped"), Some(&61));
    assert_eq!(
        report.converted_total() + report.skipped_total(),
        report.orders_seen
    );
    assert_eq!(
        report.cancelled, 0,
        "no canceled or unavailable order has lines in these files"
    );
    assert_eq!(entries.len(), 31);

    let products: HashSet<String> = catalogue::sorted(&conn)
        .unwrap()
        .into_iter()
        .map(|(gtin14, _)| gtin14)
        .collect();
    let mut multi_line = 0;
    for entry in &entries {
        let FeedBody::OrderCreated { order } = entry else {
            panic!("only creations expected")
        };
        orders::validate(order).unwrap();
        assert!(order.platform_order_id.starts_with("olist-"));
        assert!(order.placed_at.ends_with("-03:00"), "{}", order.placed_at);
        assert_eq!(
            PickupCode::parse(&order.pickup_code).unwrap().as_str(),
            order.pickup_code
        );
        assert!(
            order.lines.iter().all(|l| products.contains(&l.gtin14)),
            "catalogue GTINs only"
        );
        multi_line += usize::from(order.lines.len() > 1 || order.lines[0].quantity > 1);
    }
    assert!(multi_line > 0, "orders with several items keep them");
}

#[test]
fn converting_twice_gives_byte_identical_output_that_loads_once() {
    let Some(data) = shared_data() else { return };
    let dir = tempfile::tempdir().unwrap();
    let db = prepared(dir.path(), &data);
    let olist_dir = data.join("olist");
    let (a, b) = (dir.path().join("a.jsonl"), dir.path().join("b.jsonl"));
    for out in [&a, &b] {
        let args = [
            "convert-olist",
            "--olist",
            arg(&olist_dir),
            "--db",
            arg(&db),
        ];
        let output = cli(
            &[&args[..], &["--store", "olist-test", "--out", arg(out)]].concat(),
            &[],
        );
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.contains("4998 orders seen, 31 converted"),
            "{stderr}"
        );
        assert!(stderr.contains("(no order lines)"), "{stderr}");
    }
    let first = std::fs::read(&a).unwrap();
    assert_eq!(first, std::fs::read(&b).unwrap(), "same input, same bytes");
    assert_eq!(first.iter().filter(|&&c| c == b'\n').count(), 31);

    let out = cli_ok(&["load-orders", "--db", arg(&db), arg(&a)]);
    assert!(
        out.contains("31 orders created, 0 cancelled, 0 already present"),
        "{out}"
    );
    let out = cli_ok(&["load-orders", "--db", arg(&db), arg(&a)]);
    assert!(
        out.contains("0 orders created, 0 cancelled, 31 already present"),
        "{out}"
    );
    let conn = db::open(&db).unwrap();
    assert_eq!(
        orders::feed_page(&conn, "olist-test", 0, 1000)
            .unwrap()
            .items
            .len(),
        31
    );
}

/// A made-up Olist-shaped folder (invented ids, not Olist rows) exercising cancellations and
/// every skip reason, with the items file quoted inconsistently as the real one is.
fn invented_olist(dir: &Path) {
    std::fs::write(
        dir.join(olist::ORDERS_FILE),
        "order_id,customer_id,order_status,order_purchase_timestamp,order_approved_at,\
         order_delivered_carrier_date,order_delivered_customer_date,\
         order_estimated_delivery_date\n\
         aaaa0001,cust01,delivered,3/5/2018 9:15,3/5/2018 9:30,,,3/20/2018 0:00\n\
         aaaa0002,cust02,canceled,3/6/2018 10:00,3/6/2018 11:45,,,3/21/2018 0:00\n\
         aaaa0003,cust03,unavailable,3/7/2018 12:00,,,,3/22/2018 0:00\n\
         aaaa0004,cust04,delivered,3/8/2018 13:00,,,,3/23/2018 0:00\n\
         aaaa0005,cust05,shipped,2018-03-09 14:00,,,,3/24/2018 0:00\n",
    )
    .unwrap();
    std::fs::write(
        dir.join(olist::ITEMS_FILE),
        "\"order_id\",\"order_item_id\",\"product_id\",\"seller_id\",\"shipping_limit_date\",\
         \"price\",\"freight_value\"\n\
         \"aaaa0001\",1,\"prod-a\",\"s1\",2018-03-10 09:00:00,10.00,1.00\n\
         aaaa0001,2,prod-a,s1,2018-03-10 09:00:00,10.00,1.00\n\
         \"aaaa0001\",3,prod-b,\"s1\",2018-03-10 09:00:00,5.00,1.00\n\
         aaaa0002,1,\"prod-c\",s2,2018-03-11 09:00:00,7.00,1.00\n\
         \"aaaa0003\",1,prod-d,s2,2018-03-12 09:00:00,8.00,1.00\n\
         aaaa0005,1,prod-e,s2,2018-03-13 09:00:00,9.00,1.00\n\
         zzzz9999,1,prod-f,s3,2018-03-14 09:00:00,1.00,1.00\n",
    )
    .unwrap();
}

#[test]
fn canceled_and_unavailable_orders_arrive_created_then_cancelled() {
    let dir = tempfile::tempdir().unwrap();
    let db_path = dir.path().join("central.sqlite3");
    cli_ok(&["seed-demo", "--db", arg(&db_path), "--store", "olist-test"]);
    invented_olist(dir.path());
    let conn = db::open(&db_path).unwrap();
    let (entries, report) = olist::convert(dir.path(), &conn, "olist-test").unwrap();

    let kinds: Vec<(String, &str)> = entries
        .iter()
        .map(|e| match e {
            FeedBody::OrderCreated { order } => (order.platform_order_id.clone(), "created"),
            FeedBody::OrderCancelled {
                platform_order_id, ..
            } => (platform_order_id.clone(), "cancelled"),
        })
        .collect();
    let expected = [
        ("olist-aaaa0001", "created"),
        ("olist-aaaa0002", "created"),
        ("olist-aaaa0002", "cancelled"),
        ("olist-aaaa0003", "created"),
        ("olist-aaaa0003", "cancelled"),
    ];
    let expected: Vec<(String, &str)> = expected.iter().map(|(id, k)| ((*id).into(), *k)).collect();
    assert_eq!(kinds, expected);
    assert_eq!(report.cancelled, 2);
    assert_eq!(
        report.skipped[&SkipReason::NoLines].get("delivered"),
        Some(&1)
    );
    assert_eq!(
        report.skipped[&SkipReason::BadTimestamp].get("shipped"),
        Some(&1)
    );
    assert_eq!(report.items_of_unknown_orders, 1);

    let FeedBody::OrderCreated { order } = &entries[0] else {
        panic!()
    };
    assert_eq!(order.lines.len(), 2, "prod-a twice is one line");
    assert_eq!(
        (order.lines[0].line_id.as_str(), order.lines[0].quantity),
        ("1", 2)
    );
    assert_eq!(order.placed_at, "2018-03-05T09:15:00-03:00");
    let FeedBody::OrderCancelled { at, .. } = &entries[2] else {
        panic!()
    };
    assert_eq!(
        at, "2018-03-06T11:45:00-03:00",
        "cancelled at the latest lifecycle time"
    );

    let out = dir.path().join("orders.jsonl");
    let mut file = std::fs::File::create(&out).unwrap();
    olist::write_jsonl(&mut file, &entries).unwrap();
    let loaded = cli_ok(&["load-orders", "--db", arg(&db_path), arg(&out)]);
    assert!(loaded.contains("3 orders created, 2 cancelled"), "{loaded}");
}

#[test]
fn converting_for_an_unknown_store_or_without_a_catalogue_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    invented_olist(dir.path());
    let db_path = dir.path().join("central.sqlite3");
    let base = [
        "convert-olist",
        "--olist",
        arg(dir.path()),
        "--db",
        arg(&db_path),
    ];
    let output = cli(&[&base[..], &["--store", "olist-test"]].concat(), &[]);
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("does not exist"));

    cli_ok(&[
        "add-store",
        "--db",
        arg(&db_path),
        "--store",
        "olist-test",
        "--name",
        "T",
    ]);
    let output = cli(&[&base[..], &["--store", "olist-test"]].concat(), &[]);
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("the catalogue is empty"));
    let output = cli(&[&base[..], &["--store", "elsewhere"]].concat(), &[]);
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("there is no store \"elsewhere\""));
}
