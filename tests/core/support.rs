//! What the core's integration tests share: a real `storehand-central` process on loopback,
//! devices set up against it, the real data, and a fingerprint of a replica to prove that a
//! refused input changed nothing.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;
use storehand::Device;
use storehand::api::{OrderDetail, OrderView};

pub const STORE: &str = "demo-store";
pub const ADMIN_TOKEN: &str = "test-admin-token";

/// The `storehand` binary under test.
pub fn storehand_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_storehand"))
}

/// The `storehand-central` binary, built into the same target directory.
pub fn central_bin() -> PathBuf {
    let bin = storehand_bin().with_file_name("storehand-central");
    assert!(
        bin.exists(),
        "{} is missing: build it first with `cargo build -p storehand-central`",
        bin.display()
    );
    bin
}

/// The real data of `../shared/data`, or `STOREHAND_DATA`. `None` (with the reason printed)
/// when it is missing outside CI; under `CI=true` a missing data set fails the test.
pub fn shared_data() -> Option<PathBuf> {
    let dir = std::env::var_os("STOREHAND_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data"));
    if dir.join("openfoodfacts").is_dir() {
        return Some(dir);
    }
    let why = format!(
        "real data not found at {} (set STOREHAND_DATA)",
        dir.display()
    );
    assert!(std::env::var("CI").as_deref() != Ok("true"), "{why}");
    eprintln!("skipped: {why}");
    None
}

pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Runtime::new().unwrap()
}

/// A running `storehand-central` on 127.0.0.1, stopped with SIGTERM when dropped.
pub struct Central {
    child: Option<Child>,
    pub db: PathBuf,
    pub url: String,
    port: u16,
}

impl Central {
    /// A central with the demo store seeded into a fresh database under `dir`.
    pub fn demo(dir: &Path) -> Central {
        let db = dir.join("central.sqlite3");
        run_central(&["seed-demo", "--db", db.to_str().unwrap()]);
        Central::start(db, 0)
    }

    /// Serves `db` on `port` (0 for any free port).
    pub fn start(db: PathBuf, port: u16) -> Central {
        let mut child = Command::new(central_bin())
            .args(["serve", "--db", db.to_str().unwrap()])
            .args([
                "--listen",
                &format!("127.0.0.1:{port}"),
                "--admin-token",
                ADMIN_TOKEN,
            ])
            .env("STOREHAND_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start storehand-central");
        let mut first = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut first)
            .unwrap();
        let url = first
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("central said {first:?} instead of its address"))
            .to_owned();
        let port = url.rsplit(':').next().unwrap().parse().unwrap();
        Central {
            child: Some(child),
            db,
            url,
            port,
        }
    }

    /// Stops the process (SIGTERM, then waits).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status();
            let deadline = Instant::now() + Duration::from_secs(10);
            while child.try_wait().unwrap().is_none() {
                if Instant::now() > deadline {
                    let _ = child.kill();
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    }

    /// Starts the same database again on the same port.
    pub fn restart(&mut self) {
        self.stop();
        let fresh = Central::start(self.db.clone(), self.port);
        *self = fresh;
    }

    fn admin(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let client = reqwest::blocking::Client::new();
        let mut request = client
            .request(method, format!("{}{path}", self.url))
            .bearer_auth(ADMIN_TOKEN);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().unwrap();
        assert!(
            response.status().is_success(),
            "{path}: {}",
            response.status()
        );
        response.json().unwrap()
    }

    /// Events central stored for an order, in arrival order.
    pub fn events(&self, platform_order_id: &str) -> Vec<Value> {
        let path = format!("/v1/admin/orders/{platform_order_id}/events");
        as_list(self.admin(reqwest::Method::GET, &path, None), "events")
    }

    /// The kinds (`type`) of the stored events, sorted.
    pub fn event_kinds(&self, platform_order_id: &str) -> Vec<String> {
        let mut kinds: Vec<String> = self
            .events(platform_order_id)
            .iter()
            .map(|e| {
                let e = e.get("event").unwrap_or(e);
                e["type"].as_str().unwrap_or_default().to_owned()
            })
            .collect();
        kinds.sort();
        kinds
    }

    pub fn notifications(&self, platform_order_id: &str) -> Vec<Value> {
        let path = format!("/v1/admin/orders/{platform_order_id}/notifications");
        as_list(
            self.admin(reqwest::Method::GET, &path, None),
            "notifications",
        )
    }

    /// Makes central store the next `n` event batches and drop the connection unanswered.
    pub fn drop_event_responses(&self, n: u32) {
        let body = serde_json::json!({ "drop_event_responses": n });
        self.admin(reqwest::Method::POST, "/v1/admin/faults", Some(body));
    }

    /// A fresh one-time enrollment code for `store`.
    pub fn enrollment_code(&self, store: &str) -> String {
        let path = format!("/v1/stores/{store}/enrollment-codes");
        let code = self.admin(reqwest::Method::POST, &path, Some(serde_json::json!({})));
        code["code"]
            .as_str()
            .expect("central answers a code")
            .to_owned()
    }

    pub fn cancel(&self, platform_order_id: &str, reason: &str) {
        let body = serde_json::json!({ "reason": reason });
        let path = format!("/v1/orders/{platform_order_id}/cancel");
        self.admin(reqwest::Method::POST, &path, Some(body));
    }
}

fn as_list(value: Value, key: &str) -> Vec<Value> {
    match value {
        Value::Array(items) => items,
        Value::Object(mut map) => match map.remove(key) {
            Some(Value::Array(items)) => items,
            other => panic!("expected a list under {key}, got {other:?}"),
        },
        other => panic!("expected a list, got {other}"),
    }
}

impl Drop for Central {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Runs a `storehand-central` command to completion and returns its stdout.
pub fn run_central(args: &[&str]) -> String {
    let output = Command::new(central_bin()).args(args).output().unwrap();
    assert!(
        output.status.success(),
        "storehand-central {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// A device with its own data directory, enrolled in the demo store at `central` and signed
/// in as 1001.
pub fn device(dir: &Path, name: &str, central: &Central) -> Arc<Device> {
    let device = Arc::new(Device::open(&dir.join(name)).unwrap());
    let code = central.enrollment_code(STORE);
    runtime()
        .block_on(device.enrol(&central.url, &code, name))
        .unwrap();
    device.sign_in("1001", "1234").unwrap();
    device
}

/// The oldest order in the pick queue.
pub fn first_queued(device: &Device) -> OrderDetail {
    let queue = device.list_orders(OrderView::Queue).unwrap();
    let first = queue.first().expect("the demo store has orders to pick");
    device.order(&first.id).unwrap()
}

/// Scans every unit of every line; returns the last result's detail.
pub fn pick_all(device: &Device, order: &OrderDetail) -> OrderDetail {
    let mut last = None;
    for line in &order.lines {
        for _ in line.picked..line.ordered {
            last = Some(
                device
                    .scan_item(&order.summary.id, &line.printed_code)
                    .unwrap()
                    .order,
            );
        }
    }
    last.expect("the order had units to pick")
}

/// Everything a refused input must leave as it was: documents, query tables and outbox.
pub fn fingerprint(device: &Device) -> String {
    dump(
        &device.data_dir().join("replica.sqlite3"),
        &[
            "SELECT doc_id, heads, version FROM docs ORDER BY doc_id",
            "SELECT doc_id, COUNT(*), SUM(LENGTH(bytes)) FROM doc_chunks GROUP BY doc_id ORDER BY 1",
            "SELECT * FROM orders ORDER BY doc_id",
            "SELECT * FROM order_lines ORDER BY doc_id, line_id",
            "SELECT * FROM stock ORDER BY gtin14",
            "SELECT event_id, kind, state FROM outbox ORDER BY event_id",
        ],
    )
}

/// Every row the `queries` return from the replica at `path`, one line a row.
pub fn dump(path: &Path, queries: &[&str]) -> String {
    let conn = rusqlite_open(path);
    let mut out = String::new();
    for sql in queries {
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

pub fn rusqlite_open(path: &Path) -> rusqlite::Connection {
    rusqlite::Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap()
}
