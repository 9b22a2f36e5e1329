//! Scan to confirmed and durable, in the core: p50 and p99 over 10,000 scans on one device.
//!
//! Starts a real `storehand-central` (build it first: `cargo build --release -p
//! storehand-central`), gives the demo store 2,000 five-unit orders, syncs one device, then
//! times `Device::scan_item` for every unit: parse, fold, append, stock counter, query tables,
//! outbox, and the SQLite commit with `synchronous = FULL`. Run with
//! `cargo bench --bench scan`. Budget (DESIGN.md): p99 ≤ 5 ms.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Instant;

use storehand::Device;
use storehand::contract::{Fulfilment, OrderLineSpec, OrderSpec};

const ORDERS: usize = 2_000;
const UNITS_PER_ORDER: u32 = 5;
const ADMIN: &str = "bench-admin";

/// Stops the central with SIGTERM however the benchmark ends.
struct Stop(std::process::Child);

impl Drop for Stop {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.0.id().to_string()])
            .status();
        let _ = self.0.wait();
    }
}

fn main() {
    let central_bin =
        PathBuf::from(env!("CARGO_BIN_EXE_storehand")).with_file_name("storehand-central");
    assert!(
        central_bin.exists(),
        "build storehand-central first: {}",
        central_bin.display()
    );
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("central.sqlite3");
    let seeded = Command::new(&central_bin)
        .args(["seed-demo", "--db", db.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(seeded.status.success());
    let mut central = Command::new(&central_bin)
        .args([
            "serve",
            "--db",
            db.to_str().unwrap(),
            "--listen",
            "127.0.0.1:0",
            "--admin-token",
            ADMIN,
        ])
        .env("STOREHAND_LOG", "warn")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = central.stdout.take().unwrap();
    let _central = Stop(central);
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).unwrap();
    let url = line.trim().trim_start_matches("listening on ").to_owned();

    let client = reqwest::blocking::Client::new();
    let code: serde_json::Value = client
        .post(format!("{url}/v1/stores/demo-store/enrollment-codes"))
        .bearer_auth(ADMIN)
        .json(&serde_json::json!({}))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let code = code["code"].as_str().unwrap().to_owned();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let device = Device::open(&dir.path().join("device")).unwrap();
    runtime
        .block_on(device.enrol(&url, &code, "bench"))
        .unwrap();
    let products: Vec<(String, String)> = {
        let conn = rusqlite::Connection::open(dir.path().join("device/replica.sqlite3")).unwrap();
        let mut stmt = conn
            .prepare("SELECT gtin14, name FROM products ORDER BY gtin14")
            .unwrap();
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };

    let alphabet: Vec<char> = storehand::scan::PICKUP_ALPHABET.chars().collect();
    for n in 0..ORDERS {
        let mut code = String::new();
        let mut k = n + 1_000_000;
        for _ in 0..8 {
            code.push(alphabet[k % alphabet.len()]);
            k /= alphabet.len();
        }
        let spec = OrderSpec {
            platform_order_id: format!("bench-{n}"),
            order_number: format!("B-{n:05}"),
            store_id: "demo-store".into(),
            fulfilment: Fulfilment::Bopis,
            customer_name: format!("Bench Customer {n}"),
            pickup_code: format!("{}-{}", &code[..4], &code[4..]),
            placed_at: "2026-12-01T09:00:00Z".into(),
            lines: (0..UNITS_PER_ORDER as usize)
                .map(|i| {
                    let (gtin14, name) = &products[(n * 7 + i * 13) % products.len()];
                    OrderLineSpec {
                        line_id: (i + 1).to_string(),
                        gtin14: gtin14.clone(),
                        name: name.clone(),
                        quantity: 1,
                    }
                })
                .collect(),
        };
        let response = client
            .post(format!("{url}/v1/orders"))
            .bearer_auth(ADMIN)
            .json(&spec)
            .send()
            .unwrap();
        assert!(
            response.status().is_success(),
            "order {n}: {}",
            response.status()
        );
    }
    runtime.block_on(device.sync()).unwrap();
    device.sign_in("1001", "1234").unwrap();

    let mut samples = Vec::with_capacity(ORDERS * UNITS_PER_ORDER as usize);
    for n in 0..ORDERS {
        let order = device.order(&format!("B-{n:05}")).unwrap();
        for line in &order.lines {
            let started = Instant::now();
            device.scan_item(&order.summary.id, &line.gtin14).unwrap();
            samples.push(started.elapsed());
        }
    }
    drop(_central);

    samples.sort();
    let pct = |p: f64| samples[((samples.len() as f64 * p) as usize).min(samples.len() - 1)];
    println!(
        "scan to durable over {} scans: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms \
         (budget p99 <= 5 ms)",
        samples.len(),
        pct(0.50).as_secs_f64() * 1e3,
        pct(0.99).as_secs_f64() * 1e3,
        samples.last().unwrap().as_secs_f64() * 1e3
    );
}
