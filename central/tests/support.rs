//! What the integration tests share: the real `storehand-central` binary, started on port 0
//! against a fresh database, clients for devices and the admin, and the real data.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use storehand::contract::{EnrollmentGrant, EventBatch, EventBody, StoreEvent};
use storehand_central::admin::{OrderEvents, OrderNotifications};
use tempfile::TempDir;
use uuid::Uuid;

pub const ADMIN_TOKEN: &str = "central-tests-admin-token";
pub const STORE: &str = "demo-store";

/// The demo order every test may use freely (each test has its own database).
pub fn demo_order(n: u32) -> String {
    format!("{STORE}-D-{}", 10_000 + n)
}

/// The binary under test.
pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_storehand-central")
}

/// Runs a command of the binary to completion, logging only warnings.
pub fn cli(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(bin());
    command
        .args(args)
        .env("STOREHAND_LOG", "warn")
        .env_remove("STOREHAND_PIN");
    for (key, value) in env {
        command.env(key, value);
    }
    command.output().expect("run storehand-central")
}

/// Runs a command that must succeed and returns its stdout.
pub fn cli_ok(args: &[&str]) -> String {
    let output = cli(args, &[]);
    assert!(
        output.status.success(),
        "storehand-central {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("UTF-8 output")
}

/// `path` as a `&str` argument.
pub fn arg(path: &Path) -> &str {
    path.to_str().expect("a UTF-8 path")
}

/// The real data folder (`STOREHAND_DATA`, else `../shared/data` beside the workspace), or
/// `None` with the reason printed; under `CI=true` missing data fails the test instead.
pub fn shared_data() -> Option<PathBuf> {
    let dir = std::env::var_os("STOREHAND_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data"));
    if dir.join("openfoodfacts").is_dir() && dir.join("olist").is_dir() {
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

/// A running server on 127.0.0.1, stopped with SIGTERM when dropped.
pub struct Server {
    child: Option<Child>,
    pub url: String,
    pub db: PathBuf,
    // Keeps the database's folder alive as long as the server.
    _dir: Option<TempDir>,
}

impl Server {
    /// A server over a fresh database with the demo store seeded, with the admin token.
    pub fn demo() -> Server {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let db = dir.path().join("central.sqlite3");
        cli_ok(&["seed-demo", "--db", arg(&db)]);
        let mut server = Server::start(&db, Some(ADMIN_TOKEN));
        server._dir = Some(dir);
        server
    }

    /// Serves `db` on a free port, with `admin_token` if given.
    pub fn start(db: &Path, admin_token: Option<&str>) -> Server {
        let mut command = Command::new(bin());
        command.args(["serve", "--db", arg(db), "--listen", "127.0.0.1:0"]);
        if let Some(token) = admin_token {
            command.args(["--admin-token", token]);
        }
        let mut child = command
            .env("STOREHAND_LOG", "warn")
            .env_remove("STOREHAND_ADMIN_TOKEN")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start storehand-central serve");
        let mut first = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut first)
            .expect("the first line of the server");
        let url = first
            .strip_suffix('\n')
            .and_then(|line| line.strip_prefix("listening on "))
            .unwrap_or_else(|| panic!("the server said {first:?} instead of its address"))
            .to_owned();
        assert!(url.starts_with("http://127.0.0.1:"), "{url}");
        Server {
            child: Some(child),
            url,
            db: db.to_owned(),
            _dir: None,
        }
    }

    /// Sends SIGTERM and waits up to 10 s for the exit status.
    pub fn terminate(&mut self) -> Option<ExitStatus> {
        let mut child = self.child.take()?;
        let pid = child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(status) = child.try_wait().expect("wait for the server") {
                return Some(status);
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// A client with no credentials.
    pub fn anonymous(&self) -> Client {
        Client {
            http: reqwest::Client::new(),
            url: self.url.clone(),
            token: None,
        }
    }

    /// A client with the admin token.
    pub fn admin(&self) -> Client {
        Client {
            token: Some(ADMIN_TOKEN.into()),
            ..self.anonymous()
        }
    }

    /// A one-time enrollment code for `store`, issued through the admin endpoint.
    pub async fn enrollment_code(&self, store: &str) -> String {
        let path = format!("/v1/stores/{store}/enrollment-codes");
        let (status, code) = self.admin().post_json(&path, &serde_json::json!({})).await;
        assert_eq!(status, StatusCode::CREATED, "enrollment code: {code}");
        code["code"].as_str().unwrap().to_owned()
    }

    /// A newly enrolled device of `store`, on its own connection pool.
    pub async fn device(&self, store: &str, name: &str) -> Device {
        let code = self.enrollment_code(store).await;
        let body = serde_json::json!({ "code": code, "device_name": name });
        let (status, grant) = self.anonymous().post_json("/v1/enroll", &body).await;
        assert_eq!(status, StatusCode::CREATED, "enrollment: {grant}");
        let credentials: EnrollmentGrant = serde_json::from_value(grant).unwrap();
        let client = Client {
            token: Some(credentials.token.clone()),
            ..self.anonymous()
        };
        Device {
            client,
            credentials,
        }
    }

    /// The events central stored for an order, in arrival order.
    pub async fn events(&self, platform_order_id: &str) -> OrderEvents {
        let path = format!("/v1/admin/orders/{platform_order_id}/events");
        self.admin().get_ok(&path).await
    }

    pub async fn notifications(&self, platform_order_id: &str) -> OrderNotifications {
        let path = format!("/v1/admin/orders/{platform_order_id}/notifications");
        self.admin().get_ok(&path).await
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.terminate();
    }
}

/// An HTTP client of the server, with or without a bearer token.
#[derive(Clone)]
pub struct Client {
    pub http: reqwest::Client,
    pub url: String,
    pub token: Option<String>,
}

impl Client {
    fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let request = self.http.request(method, format!("{}{path}", self.url));
        match &self.token {
            Some(token) => request.bearer_auth(token),
            None => request,
        }
    }

    /// GET `path`: the status and the JSON body.
    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        answer(
            self.request(reqwest::Method::GET, path)
                .send()
                .await
                .expect("a response"),
        )
        .await
    }

    /// GET `path`, which must succeed, as a `T`.
    pub async fn get_ok<T: DeserializeOwned>(&self, path: &str) -> T {
        let (status, body) = self.get(path).await;
        assert_eq!(status, StatusCode::OK, "GET {path}: {body}");
        serde_json::from_value(body).unwrap_or_else(|e| panic!("GET {path}: {e}"))
    }

    /// POST `body` as JSON to `path`: the status and the JSON body.
    pub async fn post_json<B: Serialize>(&self, path: &str, body: &B) -> (StatusCode, Value) {
        let request = self.request(reqwest::Method::POST, path).json(body);
        answer(request.send().await.expect("a response")).await
    }

    /// POST raw bytes to `path`.
    pub async fn post_raw(&self, path: &str, body: String) -> (StatusCode, Value) {
        let request = self
            .request(reqwest::Method::POST, path)
            .header("content-type", "application/json")
            .body(body);
        answer(request.send().await.expect("a response")).await
    }
}

async fn answer(response: reqwest::Response) -> (StatusCode, Value) {
    let status = response.status();
    let text = response.text().await.expect("a body");
    let body = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("a {status} answer that is not JSON ({e}): {text:?}"));
    (status, body)
}

/// An enrolled device.
pub struct Device {
    pub client: Client,
    pub credentials: EnrollmentGrant,
}

impl Device {
    /// A fresh event of this device for an order of its store.
    pub fn event(&self, platform_order_id: &str, body: EventBody) -> StoreEvent {
        StoreEvent {
            event_id: Uuid::now_v7(),
            store_id: self.credentials.store_id.clone(),
            device_id: self.credentials.device_id,
            associate_id: "1001".into(),
            occurred_at: "2026-12-01T18:30:00.000Z".into(),
            platform_order_id: platform_order_id.into(),
            body,
        }
    }

    /// Pushes `events` to the device's own store: the status and the JSON body.
    pub async fn push(&self, events: &[StoreEvent]) -> (StatusCode, Value) {
        self.push_to(&self.credentials.store_id, events).await
    }

    pub async fn push_to(&self, store: &str, events: &[StoreEvent]) -> (StatusCode, Value) {
        let batch = EventBatch {
            events: events.to_vec(),
        };
        self.client
            .post_json(&format!("/v1/stores/{store}/events"), &batch)
            .await
    }

    /// Pushes one event, which must be answered, and returns its ack's status and reason.
    pub async fn push_one(&self, event: &StoreEvent) -> (String, Option<String>) {
        let (status, body) = self.push(std::slice::from_ref(event)).await;
        assert_eq!(status, StatusCode::OK, "push: {body}");
        let ack = &body["acks"][0];
        assert_eq!(ack["event_id"], event.event_id.to_string());
        (
            ack["status"].as_str().unwrap().to_owned(),
            ack["reason"].as_str().map(str::to_owned),
        )
    }
}

/// The error code of an `ErrorBody`.
pub fn code(body: &Value) -> &str {
    body["code"]
        .as_str()
        .unwrap_or_else(|| panic!("not an ErrorBody: {body}"))
}
