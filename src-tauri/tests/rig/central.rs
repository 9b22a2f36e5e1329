//! A real `storehand-central` on loopback with the demo store, and the `storehand` CLI that
//! enrols a device in it.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::{Context, Result};
use serde::de::DeserializeOwned;

use super::{Guard, run, split_lines};

/// The store `storehand-central seed-demo` builds.
pub const DEMO_STORE: &str = "demo-store";

pub struct Central {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    token: String,
    bin: PathBuf,
    db: PathBuf,
    _guard: Guard,
}

impl Central {
    /// Seeds a fresh database at `db` with the demo store, then serves it on a free port.
    pub fn start(bin: &Path, db: &Path, log: &Path) -> Result<Central> {
        let mut seed = Command::new(bin);
        seed.arg("seed-demo").arg("--db").arg(db);
        run(
            "storehand-central seed-demo",
            seed,
            Duration::from_secs(120),
        )?;

        // A token of this run only; it reaches central through the environment, not argv.
        let token = format!(
            "e2e-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)?
                .as_nanos()
        );
        let mut serve = Command::new(bin);
        serve
            .arg("serve")
            .arg("--db")
            .arg(db)
            .args(["--listen", "127.0.0.1:0"])
            .env("STOREHAND_ADMIN_TOKEN", &token)
            .stdout(Stdio::piped());
        let mut guard = Guard::spawn("storehand-central", serve, log, false)?;
        let stdout = guard.stdout().context("central's standard output")?;
        let first = split_lines(stdout, 1, File::create(log.with_extension("out"))?)
            .recv_timeout(Duration::from_secs(20))
            .context("storehand-central did not say where it listens within 20 s")?;
        let url = first
            .strip_prefix("listening on ")
            .with_context(|| format!("storehand-central's first line was {first:?}"))?
            .trim()
            .to_owned();
        Ok(Central {
            url,
            token,
            bin: bin.to_owned(),
            db: db.to_owned(),
            _guard: guard,
        })
    }

    /// A one-time enrollment code for the demo store.
    pub fn enrollment_code(&self) -> Result<String> {
        let mut cmd = Command::new(&self.bin);
        cmd.arg("enrollment-code")
            .arg("--db")
            .arg(&self.db)
            .args(["--store", DEMO_STORE]);
        let output = run(
            "storehand-central enrollment-code",
            cmd,
            Duration::from_secs(30),
        )?;
        Ok(String::from_utf8(output.stdout)?.trim().to_owned())
    }

    /// The events central stored for an order, through the admin endpoint, as JSON.
    pub async fn order_events(&self, platform_order_id: &str) -> Result<serde_json::Value> {
        let url = format!("{}/v1/admin/orders/{platform_order_id}/events", self.url);
        let response = reqwest::Client::new()
            .get(&url)
            .bearer_auth(&self.token)
            .timeout(Duration::from_secs(10))
            .send()
            .await
            .with_context(|| format!("GET {url}"))?
            .error_for_status()
            .with_context(|| format!("GET {url}"))?;
        Ok(response.json().await?)
    }
}

/// The `storehand` CLI on one device's data directory.
pub struct Cli {
    pub bin: PathBuf,
    pub data_dir: PathBuf,
}

impl Cli {
    /// Enrols the device in the demo store and syncs it once.
    pub fn setup(&self, central: &Central) -> Result<()> {
        let code = central.enrollment_code()?;
        let mut cmd = self.command();
        cmd.args(["setup", "--central", &central.url, "--code", &code])
            .args(["--name", "e2e"]);
        run("storehand setup", cmd, Duration::from_secs(120))?;
        Ok(())
    }

    /// Runs a read-only verb with `--json` and parses what it prints.
    pub fn json<T: DeserializeOwned>(&self, args: &[&str]) -> Result<T> {
        let mut cmd = self.command();
        cmd.arg("--json").args(args);
        let what = format!("storehand {}", args.join(" "));
        let output = run(&what, cmd, Duration::from_secs(30))?;
        serde_json::from_slice(&output.stdout).with_context(|| format!("{what} printed"))
    }

    fn command(&self) -> Command {
        let mut cmd = Command::new(&self.bin);
        cmd.arg("--data-dir").arg(&self.data_dir);
        cmd
    }
}
