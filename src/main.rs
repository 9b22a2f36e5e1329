//! `storehand`: every store workflow from the command line, for scripting, support and test
//! rigs, plus `storehand serve`, a headless node for a back-office PC.
//!
//! Output is for people by default and JSON with `--json`. Exit status: 0 on success, 2 when
//! the input was refused (the reason on stderr, nothing changed), 1 when something is broken
//! (the replica, central).

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand, ValueEnum};
use serde::Serialize;
use storehand::api::{ErrorCode, OrderDetail, OrderStatus, OrderSummary, OrderView};
use storehand::contract::Verification;
use storehand::{Device, Error, Result};

#[derive(Parser)]
#[command(
    name = "storehand",
    version,
    about = "Storehand store device, from the command line"
)]
struct Cli {
    /// Where this device keeps its replica.
    #[arg(long, env = "STOREHAND_DATA_DIR", global = true)]
    data_dir: Option<PathBuf>,
    /// Print JSON instead of text.
    #[arg(long, global = true)]
    json: bool,
    /// Staff id of the associate doing a step (scan, stage, ready, handover). The PIN comes
    /// from STOREHAND_PIN or, with --pin-stdin, the first line of standard input.
    #[arg(long, env = "STOREHAND_STAFF", global = true)]
    staff: Option<String>,
    /// Read the PIN from the first line of standard input.
    #[arg(long, global = true)]
    pin_stdin: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Enrol this device in a store with a one-time code from central, then sync.
    #[command(alias = "enrol")]
    Setup {
        #[arg(long)]
        central: String,
        /// The enrollment code central issued (`storehand-central enrollment-code`).
        #[arg(long)]
        code: String,
        /// A name for this device, such as counter-1.
        #[arg(long)]
        name: String,
    },
    /// Exchange with central once: pull catalogue, stock and orders, push the outbox.
    Sync,
    /// Device, link and outbox state.
    Status,
    /// List orders.
    Orders {
        #[arg(long, value_enum, default_value = "queue")]
        view: ViewArg,
    },
    /// One order with its lines and history (by order number, platform id or document id).
    Order { order: String },
    /// Pick one unit of ORDER by its scanned or typed barcode; with --stdin, one scan a line
    /// of standard input (a scanner on a serial line), each answered on its own line; exit 2
    /// then only when every scan was refused.
    Scan {
        order: String,
        #[arg(required_unless_present = "stdin")]
        text: Option<String>,
        #[arg(long, conflicts_with = "text")]
        stdin: bool,
    },
    /// Put a fully picked ORDER in the bin whose label is BIN.
    Stage { order: String, bin: String },
    /// Mark a staged ORDER ready; central notifies the customer.
    Ready { order: String },
    /// Find orders at the pickup counter by pickup code, order number or customer name.
    Find { query: String },
    /// Hand a ready ORDER over, completing it.
    Handover {
        order: String,
        /// How the person collecting proved they may.
        #[arg(long, value_enum)]
        verify: VerifyArg,
        /// The customer's pickup code, required with --verify pickup-code.
        #[arg(long)]
        code: Option<String>,
        /// Name of an alternate person collecting for the customer.
        #[arg(long)]
        collected_by: Option<String>,
    },
    /// Write ORDER's pickup label as SVG (to --out, or standard output).
    Label {
        order: String,
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Search the catalogue by name, brand or code; shows on hand and available.
    Products { query: String },
    /// Write-back events and their state.
    Outbox,
    /// Run a headless node: keep syncing with central until stopped (Ctrl-C or SIGTERM).
    Serve,
}

#[derive(Clone, Copy, ValueEnum)]
enum ViewArg {
    Queue,
    Counter,
    All,
}

#[derive(Clone, Copy, ValueEnum)]
enum VerifyArg {
    PickupCode,
    PhotoId,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let default_log = if matches!(cli.command, Command::Serve) {
        "info"
    } else {
        "error"
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("STOREHAND_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_log));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();

    let json = cli.json;
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            if json {
                let body = serde_json::to_string(&err.to_api()).unwrap_or_default();
                eprintln!("{body}");
            } else {
                eprintln!("storehand: {err}");
            }
            if err.is_refusal() {
                ExitCode::from(2)
            } else {
                ExitCode::from(1)
            }
        }
    }
}

fn run(cli: Cli) -> Result<()> {
    let data_dir = cli.data_dir.clone().unwrap_or_else(default_data_dir);
    let device = Arc::new(Device::open(&data_dir)?);
    let runtime = tokio::runtime::Runtime::new().map_err(|e| Error::Io {
        context: "cannot start the async runtime".into(),
        source: e,
    })?;
    let out = Output { json: cli.json };
    if !matches!(cli.command, Command::Setup { .. }) {
        // Every other verb needs a device that belongs to a store.
        device.identity()?;
    }
    match &cli.command {
        Command::Setup {
            central,
            code,
            name,
        } => {
            let identity = runtime.block_on(device.enrol(central, code, name))?;
            out.show(&device.status()?, || {
                format!(
                    "enrolled device {} ({}) in store {} at {}",
                    identity.device_name,
                    identity.device_id,
                    identity.store_id,
                    identity.central_url
                )
            })
        }
        Command::Sync => {
            let report = runtime.block_on(device.sync())?;
            out.show(&report, || {
                format!(
                    "synced: {} products, {} order feed items ({} quarantined), {} events \
                     pushed, {} waiting",
                    report.products_received,
                    report.orders_received,
                    report.feed_items_quarantined,
                    report.events_pushed,
                    report.events_waiting
                )
            })
        }
        Command::Status => {
            let status = device.status()?;
            let rejected = device
                .outbox()?
                .iter()
                .filter(|e| e.state == "rejected")
                .count();
            out.show(&status, || {
                let link = if status.online { "online" } else { "offline" };
                let mut text = format!(
                    "store {} · device {} ({})\ncentral {} · {link}\n\
                     events waiting to write back: {}",
                    status.store_id,
                    status.device_name,
                    status.device_id,
                    status.central_url,
                    status.outbox_waiting,
                );
                if rejected > 0 {
                    let line = format!(
                        "\nevents central rejected: {rejected} (see `storehand outbox`; a \
                         manager must settle them with central)"
                    );
                    text.push_str(&line);
                }
                if let Some(e) = &status.last_error {
                    text.push_str(&format!("\nlast error: {e}"));
                }
                text
            })
        }
        Command::Orders { view } => {
            let view = match view {
                ViewArg::Queue => OrderView::Queue,
                ViewArg::Counter => OrderView::Counter,
                ViewArg::All => OrderView::All,
            };
            let orders = device.list_orders(view)?;
            out.show(&orders, || {
                orders
                    .iter()
                    .map(summary_line)
                    .collect::<Vec<_>>()
                    .join("\n")
            })
        }
        Command::Order { order } => {
            let detail = device.order(order)?;
            out.show(&detail, || detail_text(&detail))
        }
        Command::Scan {
            order,
            text: Some(text),
            ..
        } => {
            sign_in(&device, &cli)?;
            let result = device.scan_item(order, text)?;
            out.show(&result, || scan_text(&result))
        }
        Command::Scan {
            order, text: None, ..
        } => {
            // The PIN cannot come from stdin here: stdin carries the scans.
            if cli.pin_stdin {
                return Err(Error::refused(
                    ErrorCode::Invalid,
                    "--stdin carries the scans: give the PIN in STOREHAND_PIN",
                ));
            }
            sign_in(&device, &cli)?;
            scan_lines(&device, order, &out)
        }
        Command::Stage { order, bin } => {
            sign_in(&device, &cli)?;
            let detail = device.stage_order(order, bin)?;
            out.show(&detail, || detail_text(&detail))
        }
        Command::Ready { order } => {
            sign_in(&device, &cli)?;
            let detail = device.mark_ready(order)?;
            out.show(&detail, || detail_text(&detail))
        }
        Command::Find { query } => {
            let found = device.find_pickup(query)?;
            if found.is_empty() {
                return Err(Error::refused(
                    ErrorCode::NotFound,
                    format!("no order matches {query:?}; check the code, number or name"),
                ));
            }
            out.show(&found, || {
                found
                    .iter()
                    .map(summary_line)
                    .collect::<Vec<_>>()
                    .join("\n")
            })
        }
        Command::Handover {
            order,
            verify,
            code,
            collected_by,
        } => {
            sign_in(&device, &cli)?;
            let verification = match verify {
                VerifyArg::PickupCode => Verification::PickupCode,
                VerifyArg::PhotoId => Verification::PhotoId,
            };
            let detail = device.hand_over(
                order,
                verification,
                code.as_deref(),
                collected_by.as_deref(),
            )?;
            out.show(&detail, || detail_text(&detail))
        }
        Command::Label { order, out: path } => {
            let label = device.pickup_label(order)?;
            match path {
                Some(path) => std::fs::write(path, &label.svg).map_err(|e| Error::Io {
                    context: format!("cannot write {}", path.display()),
                    source: e,
                })?,
                None => println!("{}", label.svg),
            }
            Ok(())
        }
        Command::Products { query } => {
            let products = device.search_products(query)?;
            out.show(&products, || {
                products
                    .iter()
                    .map(|p| {
                        let stock = match (p.on_hand, p.available) {
                            (Some(h), Some(a)) => format!("on hand {h}, available {a}"),
                            _ => "no stock record".into(),
                        };
                        format!("{:<14} {}  ({stock})", p.printed_code, p.name)
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            })
        }
        Command::Outbox => {
            let entries = device.outbox()?;
            out.show(&entries, || {
                entries
                    .iter()
                    .map(|e| {
                        format!(
                            "{} {:<18} {:<10} {:<9} attempts {}{}",
                            e.event_id,
                            e.kind,
                            e.order_number,
                            e.state,
                            e.attempts,
                            e.last_error
                                .as_deref()
                                .map(|x| format!(" · {x}"))
                                .unwrap_or_default()
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            })
        }
        Command::Serve => {
            device.identity()?;
            runtime.block_on(serve(device));
            Ok(())
        }
    }
}

/// Answers each line of standard input as one scan: a confirmation on stdout, flushed once the
/// pick is durable, or the refusal on stderr. Refusals do not stop the stream.
fn scan_lines(device: &Device, order: &str, out: &Output) -> Result<()> {
    let (mut confirmed, mut refused) = (0, 0);
    for line in std::io::stdin().lock().lines() {
        let line = line.map_err(|e| Error::Io {
            context: "cannot read scans".into(),
            source: e,
        })?;
        if line.trim().is_empty() {
            continue;
        }
        match device.scan_item(order, &line) {
            Ok(result) => {
                confirmed += 1;
                out.show(&result, || scan_text(&result))?;
            }
            Err(err) if err.is_refusal() => {
                refused += 1;
                eprintln!("refused {:?}: {err}", line.trim());
            }
            Err(err) => return Err(err),
        }
        let _ = std::io::stdout().flush();
    }
    // Exit 2 means "nothing changed"; a stream in which some scans were confirmed did change
    // things, so only a stream refused whole exits 2. Each refusal was reported on its line.
    if refused > 0 && confirmed == 0 {
        return Err(Error::refused(
            ErrorCode::Invalid,
            format!("all {refused} scans were refused; nothing was picked"),
        ));
    }
    if refused > 0 {
        eprintln!("{confirmed} scans confirmed, {refused} refused");
    }
    Ok(())
}

fn scan_text(result: &storehand::api::ScanResult) -> String {
    format!(
        "picked {} ({}): {}/{}{}",
        result.name,
        result.printed_code,
        result.picked,
        result.ordered,
        if result.order_complete {
            " · order fully picked, stage it"
        } else {
            ""
        }
    )
}

async fn serve(device: Arc<Device>) {
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let task = tokio::spawn(storehand::node::run_sync_loop(device, stopped));
    tracing::info!("serving; stop with Ctrl-C or SIGTERM");
    storehand::node::stop_signal().await;
    let _ = stop.send(true);
    let _ = task.await;
    tracing::info!("stopped");
}

/// Signs in the associate named by --staff with the PIN from the environment or stdin.
fn sign_in(device: &Device, cli: &Cli) -> Result<()> {
    let Some(staff) = cli.staff.as_deref() else {
        return Err(Error::refused(
            ErrorCode::NotSignedIn,
            "say who does this step: --staff ID (or STOREHAND_STAFF) and the PIN in STOREHAND_PIN \
             or on standard input with --pin-stdin",
        ));
    };
    let pin = if cli.pin_stdin {
        let stdin = std::io::stdin();
        if stdin.is_terminal() {
            eprint!("PIN for {staff}: ");
            let _ = std::io::stderr().flush();
        }
        let mut line = String::new();
        stdin.lock().read_line(&mut line).map_err(|e| Error::Io {
            context: "cannot read the PIN from standard input".into(),
            source: e,
        })?;
        line.trim_end_matches(['\r', '\n']).to_owned()
    } else {
        std::env::var("STOREHAND_PIN").unwrap_or_default()
    };
    device.sign_in(staff, &pin).map(|_| ())
}

fn default_data_dir() -> PathBuf {
    let base = std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))
        .unwrap_or_else(|| PathBuf::from("."));
    base.join("storehand")
}

struct Output {
    json: bool,
}

impl Output {
    fn show<T: Serialize>(&self, value: &T, text: impl FnOnce() -> String) -> Result<()> {
        let body = if self.json {
            serde_json::to_string_pretty(value)
                .map_err(|e| Error::Central(format!("cannot print JSON: {e}")))?
        } else {
            text()
        };
        if body.is_empty() {
            return Ok(());
        }
        // A reader that stops early (`storehand orders | head`) closes the pipe; that is
        // not an error of ours, and the work was already done.
        match writeln!(std::io::stdout().lock(), "{body}") {
            Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(Error::Io {
                context: "cannot write to standard output".into(),
                source: e,
            }),
            _ => Ok(()),
        }
    }
}

fn status_word(status: OrderStatus) -> &'static str {
    match status {
        OrderStatus::New => "new",
        OrderStatus::Picking => "picking",
        OrderStatus::Picked => "picked",
        OrderStatus::Staged => "staged",
        OrderStatus::Ready => "ready",
        OrderStatus::HandedOver => "handed over",
        OrderStatus::Cancelled => "cancelled",
    }
}

fn summary_line(o: &OrderSummary) -> String {
    format!(
        "{:<10} {:<12} {:<20} {}/{} units  placed {}{}",
        o.order_number,
        status_word(o.status),
        o.customer_name,
        o.units_picked,
        o.units_ordered,
        o.placed_at,
        o.bin
            .as_deref()
            .map(|b| format!("  bin {b}"))
            .unwrap_or_default()
    )
}

fn detail_text(d: &OrderDetail) -> String {
    let mut text = summary_line(&d.summary);
    text.push_str(&format!("\npickup code {}", d.pickup_code));
    if let Some(reason) = &d.summary.cancel_reason {
        text.push_str(&format!("\ncancelled: {reason}"));
    }
    for l in &d.lines {
        let over = if l.over_picked > 0 {
            format!("  ({} over-picked)", l.over_picked)
        } else {
            String::new()
        };
        text.push_str(&format!(
            "\n  {:<14} {}/{}  {}{over}",
            l.printed_code, l.picked, l.ordered, l.name
        ));
    }
    for h in &d.history {
        text.push_str(&format!(
            "\n  {}  {}  by {} on {}",
            h.at, h.detail, h.associate_id, h.device_id
        ));
    }
    text
}
