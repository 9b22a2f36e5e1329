//! The demo store: seeded once, confirmed after, with what its README promises.

use std::collections::HashMap;
use std::path::Path;

use rusqlite::Connection;
use storehand::contract::{FeedBody, Role};
use storehand_central::pickup::PickupCode;
use storehand_central::{db, orders, stores};

use crate::support::{arg, cli, cli_ok};

/// Everything seeding writes, as text, to compare two states of a database.
fn fingerprint(db: &Path) -> String {
    let conn = Connection::open(db).unwrap();
    let mut out = String::new();
    for sql in [
        "SELECT * FROM stores",
        "SELECT * FROM associates ORDER BY store_id, staff_id",
        "SELECT * FROM products ORDER BY seq",
        "SELECT * FROM stock_epochs",
        "SELECT * FROM stock ORDER BY store_id, gtin14",
        "SELECT * FROM orders ORDER BY platform_order_id",
        "SELECT * FROM feed ORDER BY seq",
    ] {
        let mut stmt = conn.prepare(sql).unwrap();
        let columns = stmt.column_count();
        let mut rows = stmt.query([]).unwrap();
        while let Some(row) = rows.next().unwrap() {
            for i in 0..columns {
                let value: rusqlite::types::Value = row.get(i).unwrap();
                out.push_str(&format!("{value:?}|"));
            }
            out.push('\n');
        }
    }
    out
}

#[test]
fn seeding_the_demo_twice_changes_nothing_the_second_time_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("central.sqlite3");
    let first = cli_ok(&["seed-demo", "--db", arg(&db)]);
    assert!(
        first.starts_with("demo store demo-store seeded:"),
        "{first}"
    );
    assert!(first.contains("orders: 26 created, 2 cancelled"), "{first}");
    let before = fingerprint(&db);

    let second = cli_ok(&["seed-demo", "--db", arg(&db)]);
    assert!(
        second.starts_with("nothing changed: demo store demo-store is already seeded"),
        "{second}"
    );
    assert_eq!(fingerprint(&db), before, "the second run wrote nothing");
}

#[test]
fn the_demo_store_has_its_associates_stock_and_orders() {
    let dir = tempfile::tempdir().unwrap();
    let db_path = dir.path().join("central.sqlite3");
    cli_ok(&["seed-demo", "--db", arg(&db_path)]);
    let conn = db::open(&db_path).unwrap();

    let associates = stores::associates(&conn, "demo-store").unwrap().associates;
    let expected = [
        ("1001", "Ana Souza", Role::Associate, "1234"),
        ("1002", "Ben Okafor", Role::Associate, "2345"),
        ("2001", "Maria Lopez", Role::Manager, "9876"),
    ];
    assert_eq!(associates.len(), expected.len());
    for (record, (staff_id, name, role, pin)) in associates.iter().zip(expected) {
        assert_eq!(
            (record.staff_id.as_str(), record.display_name.as_str()),
            (staff_id, name)
        );
        assert_eq!(record.role, role);
        assert!(
            record.pin_hash.starts_with("$argon2id$"),
            "{}",
            record.pin_hash
        );
        assert!(
            stores::pin_matches(pin, &record.pin_hash),
            "PIN of {staff_id}"
        );
        assert!(!stores::pin_matches("0000", &record.pin_hash));
    }

    let stock: HashMap<String, i64> = stores::stock(&conn, "demo-store")
        .unwrap()
        .levels
        .into_iter()
        .map(|l| (l.gtin14, l.on_hand))
        .collect();
    assert_eq!(stock.len(), 1500);

    let feed = orders::feed_page(&conn, "demo-store", 0, 1000)
        .unwrap()
        .items;
    let cancelled: Vec<&str> = feed
        .iter()
        .filter_map(|i| match &i.body {
            FeedBody::OrderCancelled {
                platform_order_id, ..
            } => Some(platform_order_id.as_str()),
            FeedBody::OrderCreated { .. } => None,
        })
        .collect();
    assert_eq!(cancelled, ["demo-store-D-10025", "demo-store-D-10026"]);
    let mut numbers = Vec::new();
    for item in &feed {
        let FeedBody::OrderCreated { order } = &item.body else {
            continue;
        };
        numbers.push(order.order_number.clone());
        assert_eq!(
            PickupCode::parse(&order.pickup_code).unwrap().as_str(),
            order.pickup_code
        );
        if !cancelled.contains(&order.platform_order_id.as_str()) {
            for line in &order.lines {
                assert!(
                    stock[&line.gtin14] >= i64::from(line.quantity),
                    "stock covers {line:?}"
                );
            }
        }
    }
    let expected: Vec<String> = (10_001..=10_026).map(|n| format!("D-{n}")).collect();
    assert_eq!(numbers, expected);
}

#[test]
fn two_demo_stores_in_one_database_get_their_own_orders() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("central.sqlite3");
    cli_ok(&["seed-demo", "--db", arg(&db)]);
    let out = cli_ok(&["seed-demo", "--db", arg(&db), "--store", "demo-2"]);
    assert!(
        out.contains("0 new, 0 changed, 1500 unchanged sample products"),
        "{out}"
    );
    assert!(out.contains("orders: 26 created"), "{out}");
    let output = cli(
        &["seed-demo", "--db", arg(&db), "--store", "bad store"],
        &[],
    );
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("is not a store id"));
}
