//! Generated files stay in step with the Rust types they come from: the UI's TypeScript
//! bindings and the contract's JSON Schemas. Run with `STOREHAND_BLESS=1` to rewrite them.

use std::fs;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn bless() -> bool {
    std::env::var("STOREHAND_BLESS").is_ok_and(|v| v == "1")
}

/// Every file under `dir`, relative path to contents.
fn read_tree(dir: &Path) -> Vec<(String, String)> {
    let mut out = Vec::new();
    if let Ok(entries) = fs::read_dir(dir) {
        for entry in entries.flatten() {
            let path = entry.path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            out.push((name, fs::read_to_string(&path).unwrap()));
        }
    }
    out.sort();
    out
}

fn check_or_bless(generated: &Path, checked_in: &Path, what: &str) {
    if bless() {
        let _ = fs::remove_dir_all(checked_in);
        fs::create_dir_all(checked_in).unwrap();
        for (name, text) in read_tree(generated) {
            fs::write(checked_in.join(name), text).unwrap();
        }
        return;
    }
    assert!(
        read_tree(generated) == read_tree(checked_in),
        "{what} in {} are stale; run `STOREHAND_BLESS=1 cargo test --test core generated` \
         and commit",
        checked_in.display()
    );
}

#[test]
fn typescript_bindings_match_the_rust_types() {
    let tmp = tempfile::tempdir().unwrap();
    storehand::api::export_typescript(tmp.path()).unwrap();
    check_or_bless(
        tmp.path(),
        &root().join("ui/src/lib/bindings"),
        "TypeScript bindings",
    );
}

#[test]
fn contract_schemas_match_the_rust_types() {
    let tmp = tempfile::tempdir().unwrap();
    for (name, schema) in storehand::contract::schemas() {
        let text = serde_json::to_string_pretty(&schema).unwrap() + "\n";
        fs::write(tmp.path().join(name), text).unwrap();
    }
    check_or_bless(tmp.path(), &root().join("contracts"), "JSON Schemas");
}
