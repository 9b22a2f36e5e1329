//! The command line: associates, stores, loading orders, and the server's life cycle.

use std::io::Write;

use storehand_central::{db, orders, stores};

use crate::support::{ADMIN_TOKEN, Server, arg, cli, cli_ok};

fn store_db() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("central.sqlite3");
    let out = cli_ok(&[
        "add-store",
        "--db",
        arg(&db),
        "--store",
        "north",
        "--name",
        "North",
    ]);
    assert_eq!(out, "store north created\n");
    (dir, db)
}

fn add_associate(db: &std::path::Path, staff_id: &str, pin: Option<&str>) -> std::process::Output {
    let args = [
        "add-associate",
        "--db",
        arg(db),
        "--store",
        "north",
        "--staff-id",
        staff_id,
    ];
    let args = [&args[..], &["--name", "Rui Costa", "--role", "lead"]].concat();
    match pin {
        Some(pin) => cli(&args, &[("STOREHAND_PIN", pin)]),
        None => cli(&args, &[]),
    }
}

#[test]
fn an_associate_pin_comes_from_the_environment_and_only_its_hash_is_stored() {
    let (_dir, db) = store_db();
    let output = add_associate(&db, "3001", Some("4321"));
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "associate 3001 of store north added\n"
    );

    let conn = db::open(&db).unwrap();
    let list = stores::associates(&conn, "north").unwrap().associates;
    assert_eq!(list.len(), 1);
    assert!(list[0].pin_hash.starts_with("$argon2id$"));
    assert!(stores::pin_matches("4321", &list[0].pin_hash));
    let raw: String = conn
        .query_row("SELECT group_concat(pin_hash) FROM associates", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert!(
        !raw.contains("4321"),
        "the PIN itself is nowhere in the database"
    );

    let again = add_associate(&db, "3001", Some("4321"));
    assert_eq!(
        String::from_utf8_lossy(&again.stdout),
        "associate 3001 of store north unchanged\n"
    );
}

#[test]
fn a_missing_or_bad_pin_or_an_unknown_store_is_refused_and_adds_nobody() {
    let (_dir, db) = store_db();
    let output = add_associate(&db, "3001", None);
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("STOREHAND_PIN"));

    for pin in ["12", "12ab", "123456789"] {
        let output = add_associate(&db, "3001", Some(pin));
        assert!(!output.status.success(), "PIN {pin:?} must be refused");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains("a PIN has 4 to 8 digits"), "{stderr}");
    }

    let args = [
        "add-associate",
        "--db",
        arg(&db),
        "--store",
        "south",
        "--staff-id",
        "1",
    ];
    let args = [&args[..], &["--name", "Rui", "--role", "manager"]].concat();
    let output = cli(&args, &[("STOREHAND_PIN", "1234")]);
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("there is no store \"south\""));

    let output = add_associate(&db, "3001", Some("1234"));
    let args_with_bad_role = [
        "add-associate",
        "--db",
        arg(&db),
        "--store",
        "north",
        "--staff-id",
        "2",
    ];
    let bad_role = cli(
        &[&args_with_bad_role[..], &["--name", "X", "--role", "boss"]].concat(),
        &[("STOREHAND_PIN", "1234")],
    );
    assert!(output.status.success());
    assert!(!bad_role.status.success(), "clap refuses an unknown role");

    let conn = db::open(&db).unwrap();
    let staff: Vec<String> = stores::associates(&conn, "north")
        .unwrap()
        .associates
        .into_iter()
        .map(|a| a.staff_id)
        .collect();
    assert_eq!(staff, ["3001"], "only the good associate was added");
}

#[test]
fn loading_a_file_with_one_bad_line_loads_nothing_and_names_the_line() {
    let (dir, db) = store_db();
    let file = dir.path().join("orders.jsonl");
    let mut out = std::fs::File::create(&file).unwrap();
    let good = serde_json::json!({"type": "order_created", "order": {
        "platform_order_id": "n-1", "order_number": "N-1", "store_id": "north",
        "fulfilment": "bopis", "customer_name": "Test Customer", "pickup_code": "ACDE-FGHJ",
        "placed_at": "2026-12-01T10:00:00Z",
        "lines": [{"line_id": "1", "gtin14": "04006381333931", "name": "Pencil", "quantity": 1}]}});
    let mut bad = good.clone();
    bad["order"]["platform_order_id"] = "n-2".into();
    bad["order"]["order_number"] = "N-2".into();
    bad["order"]["pickup_code"] = "ABCD-EFGH".into();
    writeln!(out, "{good}\n\n{bad}").unwrap();
    drop(out);

    let output = cli(&["load-orders", "--db", arg(&db), arg(&file)], &[]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("line 3: 'B' (character 2 of \"ABCD-EFGH\") is never used"),
        "{stderr}"
    );
    let conn = db::open(&db).unwrap();
    assert!(
        orders::find(&conn, "n-1").unwrap().is_none(),
        "the good line was not loaded either"
    );

    std::fs::write(&file, "{\"type\": \"order_shipped\"}\n").unwrap();
    let output = cli(&["load-orders", "--db", arg(&db), arg(&file)], &[]);
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("line 1: not an order_created"));
}

#[tokio::test]
async fn the_server_stops_cleanly_on_sigterm() {
    let (_dir, db) = store_db();
    let mut server = Server::start(&db, Some(ADMIN_TOKEN));
    let health = reqwest::get(format!("{}/v1/health", server.url)).await;
    assert!(health.unwrap().status().is_success());
    let status = server
        .terminate()
        .expect("the server exits within 10 s of SIGTERM");
    assert!(status.success(), "exit status {status}");
}

#[test]
fn the_server_refuses_a_short_admin_token_and_an_unusable_address() {
    let (_dir, db) = store_db();
    let output = cli(&["serve", "--db", arg(&db), "--admin-token", "short"], &[]);
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("at least 8 characters"));
    assert!(
        output.stdout.is_empty(),
        "no address line when the server does not start"
    );

    let output = cli(
        &["serve", "--db", arg(&db), "--listen", "not-an-address"],
        &[],
    );
    assert!(!output.status.success());
}
