//! tauri-driver in front of WebKitWebDriver, and the WebDriver session that opens the app.
//!
//! tauri-driver leads a process group of its own: WebKitWebDriver, the app and WebKit's
//! helper processes all land in it. Closing the session does not end the app (WebKitWebDriver
//! closes the page, not the Tauri window), and SIGTERM to tauri-driver ends WebKitWebDriver but
//! orphans the app; the guard therefore signals the whole group after the driver.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, Result};
use fantoccini::{Client, ClientBuilder};
use serde_json::json;

use super::{Guard, Tools, free_port, live_members, wait_for_port};

pub struct Driver {
    port: u16,
    guard: Guard,
}

impl Driver {
    /// Starts tauri-driver on free ports. The app it launches inherits this environment:
    /// `DISPLAY`, and `STOREHAND_DATA_DIR` for its data.
    pub fn start(tools: &Tools, display: &str, data_dir: &Path, log: &Path) -> Result<Driver> {
        let port = free_port()?;
        let native_port = free_port()?;
        let mut cmd = Command::new(&tools.tauri_driver);
        cmd.args(["--port", &port.to_string()])
            .args(["--native-port", &native_port.to_string()])
            .arg("--native-driver")
            .arg(&tools.webkit_driver)
            .env("DISPLAY", display)
            .env("STOREHAND_DATA_DIR", data_dir)
            .env("STOREHAND_LOG", "info,storehand=debug,storehand_app=debug")
            // The app must choose the renderer itself; the test checks that it did.
            .env_remove("WEBKIT_DISABLE_DMABUF_RENDERER")
            .env_remove("WAYLAND_DISPLAY");
        // tauri-driver reports dropped connections on standard output; keep them in its log.
        cmd.stdout(std::fs::File::create(log.with_extension("out"))?);
        let mut guard = Guard::spawn("tauri-driver", cmd, log, true)?;
        wait_for_port(&mut guard, port, Duration::from_secs(20))?;
        Ok(Driver { port, guard })
    }

    /// Opens a WebDriver session, which launches the app and waits for its first page.
    pub async fn session(&self, app: &Path) -> Result<Client> {
        let mut caps = serde_json::Map::new();
        caps.insert("browserName".into(), json!("wry"));
        caps.insert("tauri:options".into(), json!({ "application": app }));
        let url = format!("http://127.0.0.1:{}", self.port);
        let mut builder = ClientBuilder::native();
        builder.capabilities(caps);
        tokio::time::timeout(Duration::from_secs(60), builder.connect(&url))
            .await
            .context("the WebDriver session did not open within 60 s")?
            .context("WebDriver refused the session")
    }

    /// The environment of the app process the session launched: the one process in the
    /// driver's group running the app's binary.
    pub fn app_environment(&self, app: &Path) -> Result<Vec<String>> {
        let app = app.canonicalize()?;
        for pid in live_members(self.guard.pid() as i32) {
            let exe: Option<PathBuf> = std::fs::read_link(format!("/proc/{pid}/exe")).ok();
            if exe.as_deref() == Some(app.as_path()) {
                let environ = std::fs::read(format!("/proc/{pid}/environ"))?;
                return Ok(environ
                    .split(|b| *b == 0)
                    .map(|v| String::from_utf8_lossy(v).into_owned())
                    .collect());
            }
        }
        anyhow::bail!("no process of {} in tauri-driver's group", app.display())
    }
}
