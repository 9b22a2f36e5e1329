//! Catalogue import benchmark: the whole real Open Food Facts dump into a fresh SQLite file,
//! three times, reporting products/s and rows/s (budget: 50,000 products/s on 2 cores).
//!
//! Run with `cargo bench -p storehand-central --bench import`. The data comes from
//! `$STOREHAND_DATA/openfoodfacts`, or `../shared/data/openfoodfacts` beside the workspace.
//! Each run also times its two phases: reading and checking the dump, and the one write
//! transaction.

use std::path::PathBuf;
use std::time::Instant;

use storehand_central::{catalogue, db, off};

const RUNS: usize = 3;

fn data_dir() -> PathBuf {
    std::env::var_os("STOREHAND_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/data"))
}

fn main() {
    let dumps = data_dir().join("openfoodfacts");
    if !dumps.is_dir() {
        let why = format!("no Open Food Facts dump at {}", dumps.display());
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("{why}; CI must have the data (set STOREHAND_DATA)");
        }
        eprintln!("skipping the import benchmark: {why} (set STOREHAND_DATA)");
        return;
    }

    let mut rates = Vec::new();
    for run in 1..=RUNS {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let mut conn = db::open(&dir.path().join("bench.sqlite3")).expect("a fresh database");

        let started = Instant::now();
        let files = off::collect_files(std::slice::from_ref(&dumps)).expect("the dump files");
        let (products, reading) = off::read_files(&files).expect("readable dump files");
        let read = started.elapsed();
        let upserted =
            db::write(&mut conn, |tx| catalogue::upsert(tx, &products)).expect("the import");
        let total = started.elapsed();

        assert_eq!(
            upserted.inserted, reading.accepted,
            "a fresh file takes every product"
        );
        let secs = total.as_secs_f64();
        let products_per_s = reading.accepted as f64 / secs;
        println!(
            "run {run}: {} products ({} rows, {} files) in {:.3} s (read {:.3} s, write {:.3} s): \
             {:.0} products/s, {:.0} rows/s",
            reading.accepted,
            reading.rows_seen,
            reading.files,
            secs,
            read.as_secs_f64(),
            (total - read).as_secs_f64(),
            products_per_s,
            reading.rows_seen as f64 / secs
        );
        rates.push(products_per_s);
    }
    rates.sort_by(f64::total_cmp);
    println!(
        "import: median {:.0} products/s, best {:.0} products/s over {RUNS} runs (budget 50000)",
        rates[RUNS / 2],
        rates[RUNS - 1]
    );
}
