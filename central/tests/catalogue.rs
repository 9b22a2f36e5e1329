//! The real Open Food Facts catalogue imported through the command line.
//!
//! The expected counts are facts of the shipped dump (58 files, 58,857 rows), checked
//! independently of this importer when the data was first examined.

use serde_json::Value;
use storehand::gtin::Gtin;

use crate::support::{arg, cli, cli_ok, shared_data};

fn import_json(db: &std::path::Path, dumps: &std::path::Path) -> Value {
    let out = cli_ok(&["import-off", "--db", arg(db), "--json", arg(dumps)]);
    serde_json::from_str(&out).expect("a JSON report")
}

#[test]
fn the_real_catalogue_imports_with_every_row_accepted_or_rejected_for_a_reason() {
    let Some(data) = shared_data() else { return };
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("central.sqlite3");
    let report = import_json(&db, &data.join("openfoodfacts"));

    assert_eq!(report["files"], 58);
    assert_eq!(report["rows_seen"], 58_857);
    assert_eq!(report["accepted"], 58_654);
    assert_eq!(report["inserted"], 58_654);
    let rejected = report["rejected"].as_object().unwrap();
    let count = |reason: &str| rejected.get(reason).and_then(Value::as_u64).unwrap_or(0);
    assert_eq!(
        count("wrong_length"),
        93,
        "codes like 10 and 00000000001111111111"
    );
    assert_eq!(count("bad_check_digit"), 72);
    assert_eq!(
        count("duplicate_code"),
        37,
        "the same GTIN-14 spelled in 8 and 13 digits"
    );
    assert_eq!(count("missing_name"), 1);
    assert_eq!(count("short_row"), 0, "the shipped dump has no short rows");
    let rejected_total: u64 = rejected.values().map(|v| v.as_u64().unwrap()).sum();
    assert_eq!(
        58_654 + rejected_total,
        58_857,
        "accepted plus rejected is every row seen"
    );

    let conn = rusqlite::Connection::open(&db).unwrap();
    let product = |code: &str| -> (String, String) {
        let gtin = Gtin::parse(code).unwrap();
        conn.query_row(
            "SELECT printed_code, name FROM products WHERE gtin14 = ?1",
            [gtin.gtin14()],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap_or_else(|e| panic!("{code} ({}) not found: {e}", gtin.gtin14()))
    };
    // Stored with an escaped quote in the dump: 'Pistou d\'ail des ours'.
    assert_eq!(
        product("0000000000208"),
        ("0000000000208".into(), "Pistou d'ail des ours".into())
    );
    // A US UPC-A stored as 13 digits with a leading zero: the 12-digit spelling finds it, and
    // the printed form stays as the source wrote it.
    let upc = Gtin::parse("030034083908").unwrap();
    assert_eq!(upc.gtin14(), "00030034083908");
    assert_eq!(
        product("030034083908"),
        ("0030034083908".into(), "Italian Style Tomato Sauce".into())
    );
    // Multilingual text survives.
    assert_eq!(product("0000000000017").1, "Vitória crackers");
}

#[test]
fn importing_the_same_catalogue_again_changes_nothing() {
    let Some(data) = shared_data() else { return };
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("central.sqlite3");
    let dumps = data.join("openfoodfacts");
    let first = dumps.join("food-database-0-1000.sql");
    let report = import_json(&db, &first);
    let accepted = report["accepted"].as_u64().unwrap();
    assert!(accepted > 800, "the first file holds 905 rows");
    let max_seq = |db: &std::path::Path| -> i64 {
        let conn = rusqlite::Connection::open(db).unwrap();
        conn.query_row("SELECT MAX(seq) FROM products", [], |r| r.get(0))
            .unwrap()
    };
    let seq = max_seq(&db);

    let again = import_json(&db, &first);
    assert_eq!(
        (again["inserted"].as_u64(), again["updated"].as_u64()),
        (Some(0), Some(0))
    );
    assert_eq!(again["unchanged"].as_u64(), Some(accepted));
    assert_eq!(max_seq(&db), seq, "no product moved in the catalogue feed");
}

#[test]
fn a_missing_dump_path_is_refused_before_anything_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("central.sqlite3");
    let missing = dir.path().join("no-such-dir");
    let output = cli(&["import-off", "--db", arg(&db), arg(&missing)], &[]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("is neither a file nor a directory"),
        "{stderr}"
    );
    assert!(!db.exists(), "no database was created");

    std::fs::create_dir(&missing).unwrap();
    let output = cli(&["import-off", "--db", arg(&db), arg(&missing)], &[]);
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("holds no .sql files"));
}

#[test]
fn a_hand_written_dump_with_bad_rows_reports_each_reason_in_text() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("central.sqlite3");
    let dump = dir.path().join("mini.sql");
    std::fs::write(
        &dump,
        "INSERT INTO product (barcode_id, product_name, product_image) VALUES \
         ('4006381333931', 'Pencil \\'HB\\'', ''), ('4006381333932', 'Bad', ''), \
         ('96385074', 'Short');\n\
         INSERT INTO product (barcode_id, product_name, product_image) VALUES ('1', 'x' 7);\n",
    )
    .unwrap();
    let out = cli_ok(&["import-off", "--db", arg(&db), arg(&dump)]);
    assert!(
        out.starts_with("accepted 1 products from 1 files (4 rows seen"),
        "{out}"
    );
    assert!(out.contains("rejected 3 rows"), "{out}");
    for reason in [
        "bad check digit",
        "short row (values shifted)",
        "malformed statement",
    ] {
        assert!(out.contains(reason), "{reason} missing from {out}");
    }
}
