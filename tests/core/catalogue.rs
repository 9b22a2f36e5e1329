//! A device replicates the real Open Food Facts catalogue from central and searches it by name
//! prefix, by any word of the name, and by code in every spelling.

use crate::support::{Central, device, run_central, shared_data};

#[test]
fn the_real_catalogue_is_found_by_name_prefix_any_word_and_every_spelling_of_a_code() {
    let Some(data) = shared_data() else { return };
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("central.sqlite3");
    run_central(&["seed-demo", "--db", db.to_str().unwrap()]);
    let off = data.join("openfoodfacts");
    run_central(&[
        "import-off",
        "--db",
        db.to_str().unwrap(),
        off.to_str().unwrap(),
    ]);
    let central = Central::start(db, 0);
    let device = device(dir.path(), "tablet-1", &central);

    // "Fluffy Stuff Cotton Candy", stored by Open Food Facts as 0001420000441: a UPC-A with a
    // leading zero.
    let gtin14 = "00001420000441";
    for spelling in ["001420000441", "0001420000441", "00001420000441"] {
        let found = device.search_products(spelling).unwrap();
        assert_eq!(found.len(), 1, "{spelling} finds exactly one product");
        assert_eq!(found[0].gtin14, gtin14);
        assert_eq!(
            found[0].printed_code, "0001420000441",
            "the printed form is kept"
        );
    }
    for words in ["Fluff", "fluffy stu", "cotton", "Candy Cott"] {
        let found = device.search_products(words).unwrap();
        assert!(
            found.iter().any(|p| p.gtin14 == gtin14),
            "{words:?} finds it: {found:?}"
        );
    }
    assert!(device.search_products("Fluffy zzzz").unwrap().is_empty());

    let err = device.search_products("0001420000442").unwrap_err();
    assert_eq!(err.code(), storehand::api::ErrorCode::BadCheckDigit);
    let err = device.search_products("  ").unwrap_err();
    assert_eq!(err.code(), storehand::api::ErrorCode::Invalid);
}
