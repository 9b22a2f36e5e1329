//! The rig the end-to-end test runs in: the tools it needs, and the processes it starts (a
//! real `storehand-central`, Xvfb, tauri-driver in front of WebKitWebDriver), each held by a
//! guard that stops it when dropped, on success, failure or panic alike.
//!
//! Nothing here waits without a deadline: a process that does not answer in time is an error
//! that names it and points at its log under `artifacts/e2e/`.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::net::{TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use nix::sys::signal::{Signal, kill, killpg};
use nix::unistd::Pid;

pub mod central;
pub mod display;
pub mod driver;

/// How long a stopped process gets to exit after SIGTERM.
const STOP_WAIT: Duration = Duration::from_secs(10);

/// What the test needs from the machine and the build, found or explained.
pub struct Tools {
    pub app: PathBuf,
    pub central: PathBuf,
    pub cli: PathBuf,
    pub tauri_driver: PathBuf,
    pub webkit_driver: PathBuf,
    pub xvfb: PathBuf,
}

/// The commands that build what the test runs, for the messages that ask for them.
pub const BUILD_STEPS: &str = "npm --prefix ui ci && npm --prefix ui run build && \
     cargo build -p storehand -p storehand-central && \
     cargo test -p storehand-app --features custom-protocol --test e2e";

impl Tools {
    /// Finds every tool, or says what is missing and how to get it.
    pub fn find() -> Result<Tools, Vec<String>> {
        let mut missing = Vec::new();
        if !cfg!(feature = "custom-protocol") {
            missing.push(format!(
                "the app was built without the bundled UI (feature custom-protocol); run: \
                 {BUILD_STEPS}"
            ));
        }
        let app = PathBuf::from(env!("CARGO_BIN_EXE_storehand-app"));
        let bin_dir = app.parent().map(Path::to_owned).unwrap_or_default();
        let mut sibling = |name: &str| {
            let path = bin_dir.join(name);
            if !path.is_file() {
                missing.push(format!(
                    "{} is missing; run: cargo build -p storehand -p storehand-central (with the \
                     same CARGO_TARGET_DIR)",
                    path.display()
                ));
            }
            path
        };
        let central = sibling("storehand-central");
        let cli = sibling("storehand");
        let mut tool = |name: &str, how: &str| {
            let found = which(name).or_else(|| {
                let home = std::env::var_os("HOME")?;
                let path = Path::new(&home).join(".cargo/bin").join(name);
                path.is_file().then_some(path)
            });
            found.unwrap_or_else(|| {
                missing.push(format!("{name} is not installed; {how}"));
                PathBuf::new()
            })
        };
        let tauri_driver = tool(
            "tauri-driver",
            "run: cargo install tauri-driver --version '^2' --locked",
        );
        let webkit_driver = tool("WebKitWebDriver", "run: apt-get install webkit2gtk-driver");
        let xvfb = tool("Xvfb", "run: apt-get install xvfb xauth");
        if missing.is_empty() {
            Ok(Tools {
                app,
                central,
                cli,
                tauri_driver,
                webkit_driver,
                xvfb,
            })
        } else {
            Err(missing)
        }
    }
}

fn which(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

/// A child process that is stopped when the guard drops: SIGTERM to the process, then to its
/// process group for anything it left behind, and SIGKILL only for what still runs after that.
pub struct Guard {
    name: &'static str,
    child: Child,
    /// Whether the child leads its own process group (its children are in it too).
    group: bool,
}

impl Guard {
    /// Starts `cmd` as `name`, with standard error written to `log` (standard output is the
    /// caller's to direct). With `group`, it leads a new process group.
    pub fn spawn(name: &'static str, mut cmd: Command, log: &Path, group: bool) -> Result<Guard> {
        let file = File::create(log).with_context(|| format!("cannot create {}", log.display()))?;
        cmd.stdin(Stdio::null()).stderr(file);
        if group {
            cmd.process_group(0);
        }
        let child = cmd
            .spawn()
            .with_context(|| format!("cannot start {name}"))?;
        Ok(Guard { name, child, group })
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Fails when the process has already exited, naming it and how.
    pub fn check_running(&mut self) -> Result<()> {
        match self.child.try_wait()? {
            None => Ok(()),
            Some(status) => bail!("{} exited early ({status})", self.name),
        }
    }

    /// Takes the child's piped standard output.
    pub fn stdout(&mut self) -> Option<std::process::ChildStdout> {
        self.child.stdout.take()
    }

    fn wait_until(&mut self, deadline: Instant) -> Option<ExitStatus> {
        loop {
            match self.child.try_wait() {
                Ok(Some(status)) => return Some(status),
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(50))
                }
                _ => return None,
            }
        }
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        let pid = Pid::from_raw(self.child.id() as i32);
        // SIGTERM, never SIGKILL first: tauri-driver stops WebKitWebDriver only on a signal it
        // can catch, and a driver left on its port makes the next run hang.
        if self.wait_until(Instant::now()).is_none() {
            let _ = kill(pid, Signal::SIGTERM);
        }
        let exited = self.wait_until(Instant::now() + STOP_WAIT).is_some();
        if self.group {
            // The group is this child and what it started (WebKitWebDriver, the app, WebKit's
            // helpers). Zombies count as gone: nobody may be reaping the orphans.
            let group = self.child.id() as i32;
            if !live_members(group).is_empty() {
                let _ = killpg(pid, Signal::SIGTERM);
                let deadline = Instant::now() + STOP_WAIT;
                while !live_members(group).is_empty() && Instant::now() < deadline {
                    std::thread::sleep(Duration::from_millis(50));
                }
                let left = live_members(group);
                if !left.is_empty() {
                    eprintln!(
                        "e2e: {} left {left:?} running after SIGTERM; killing",
                        self.name
                    );
                    let _ = killpg(pid, Signal::SIGKILL);
                }
            }
        }
        if !exited {
            eprintln!(
                "e2e: {} ignored SIGTERM for {STOP_WAIT:?}; killing it",
                self.name
            );
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// The processes of process group `group` that are not zombies, by pid.
pub fn live_members(group: i32) -> Vec<i32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
                return false;
            };
            // After the command name, which is in parentheses and may hold spaces: state,
            // ppid, pgrp.
            let fields: Vec<&str> = stat
                .rsplit_once(')')
                .map_or("", |(_, rest)| rest)
                .split_whitespace()
                .take(3)
                .collect();
            fields.len() == 3 && fields[0] != "Z" && fields[2] == group.to_string()
        })
        .collect()
}

/// Reads lines of `from` on a thread: the first `n` are sent back, the rest go to `log`.
pub fn split_lines(
    from: impl Read + Send + 'static,
    n: usize,
    log: File,
) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut log = log;
        for (i, line) in BufReader::new(from)
            .lines()
            .map_while(Result::ok)
            .enumerate()
        {
            if i < n {
                let _ = tx.send(line.clone());
            }
            use std::io::Write;
            let _ = writeln!(log, "{line}");
        }
    });
    rx
}

/// Runs `cmd` to completion within `limit`, returning its output; killed when it overruns.
pub fn run(what: &str, mut cmd: Command, limit: Duration) -> Result<Output> {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("cannot start {what}"))?;
    let drain = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_end(&mut buf);
            }
            buf
        })
    };
    let out = drain(
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let err = drain(
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if Instant::now() >= deadline {
            let _ = kill(Pid::from_raw(child.id() as i32), Signal::SIGTERM);
            std::thread::sleep(Duration::from_secs(1));
            let _ = child.kill();
            let _ = child.wait();
            bail!("{what} did not finish within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let output = Output {
        status,
        stdout: out.join().unwrap_or_default(),
        stderr: err.join().unwrap_or_default(),
    };
    if !output.status.success() {
        bail!(
            "{what} failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(output)
}

/// A free TCP port on loopback. Another process could take it before it is used; the driver
/// then fails to start and says so.
pub fn free_port() -> Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// Waits until something accepts connections on `port`, or `guard`'s process exits.
pub fn wait_for_port(guard: &mut Guard, port: u16, limit: Duration) -> Result<()> {
    let deadline = Instant::now() + limit;
    loop {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Ok(());
        }
        guard.check_running()?;
        if Instant::now() >= deadline {
            bail!(
                "{} did not listen on port {port} within {limit:?}",
                guard.name
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The last `n` lines of a log, for a failure message.
pub fn tail(log: &Path, n: usize) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}
