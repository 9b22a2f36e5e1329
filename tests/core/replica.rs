//! The replica's schema: migrated on open, and a replica newer than the binary is refused.

use storehand::Device;

#[test]
fn a_replica_written_by_a_newer_storehand_is_refused_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    drop(Device::open(dir.path()).unwrap());
    let path = dir.path().join("replica.sqlite3");
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.pragma_update(None, "user_version", 99).unwrap();
    drop(conn);

    let err = Device::open(dir.path())
        .err()
        .expect("a newer replica must be refused");
    let message = err.to_string();
    assert!(message.contains("schema version 99"), "{message}");
    assert!(message.contains("newer Storehand"), "{message}");
    let conn = rusqlite::Connection::open(&path).unwrap();
    let version: i64 = conn
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .unwrap();
    assert_eq!(version, 99, "refusing changed nothing");
}

#[test]
fn a_fresh_replica_is_migrated_to_the_current_schema_and_reopens() {
    let dir = tempfile::tempdir().unwrap();
    drop(Device::open(dir.path()).unwrap());
    let device = Device::open(dir.path()).unwrap();
    let err = device.status().unwrap_err();
    assert_eq!(err.code(), storehand::api::ErrorCode::NotSetUp);
}
