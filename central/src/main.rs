//! `storehand-central`: the command line of the reference platform side of the store contract.
//!
//! Each subcommand is a thin call into the library; this file only parses arguments, prints
//! results (stdout) and refusals (stderr, non-zero exit). Logs go to stderr, filtered by
//! `STOREHAND_LOG`, else `RUST_LOG` (default `info`), as the `storehand` CLI does.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use storehand::contract::Role;
use storehand_central::error::{Error, Result};
use storehand_central::{db, demo, enrollment, off, olist, orders, server, stores};

#[derive(Parser)]
#[command(
    name = "storehand-central",
    version,
    about = "The reference platform side of the Storehand store contract"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the store contract over HTTP until SIGTERM or Ctrl-C.
    Serve {
        #[arg(long)]
        db: PathBuf,
        /// Address to listen on; port 0 picks a free port (printed on the first stdout line).
        #[arg(long, default_value = "127.0.0.1:0")]
        listen: SocketAddr,
        /// Bearer token for the platform and admin endpoints (at least 8 characters); without
        /// it they answer 403.
        #[arg(long, env = "STOREHAND_ADMIN_TOKEN", hide_env_values = true)]
        admin_token: Option<String>,
    },
    /// Import Open Food Facts MySQL dump files (or directories of them) into the catalogue.
    ImportOff {
        #[arg(long)]
        db: PathBuf,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
        #[arg(required = true, value_name = "FILE_OR_DIR")]
        paths: Vec<PathBuf>,
    },
    /// Write the demo catalogue sample (code, name, image URL) from Open Food Facts dumps.
    SampleOff {
        #[arg(long)]
        out: PathBuf,
        #[arg(long, default_value_t = demo::SAMPLE_SIZE)]
        count: usize,
        #[arg(required = true, value_name = "FILE_OR_DIR")]
        paths: Vec<PathBuf>,
    },
    /// Convert the Olist dataset into order feed entries (JSON Lines) for a test store.
    ConvertOlist {
        /// The directory holding the Olist CSV files.
        #[arg(long)]
        olist: PathBuf,
        #[arg(long)]
        db: PathBuf,
        #[arg(long)]
        store: String,
        /// Write here instead of stdout.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Append the entries of a JSON Lines file of order feed entries to their stores' feeds.
    LoadOrders {
        #[arg(long)]
        db: PathBuf,
        #[arg(value_name = "FILE.jsonl")]
        file: PathBuf,
    },
    /// Build the demo store (idempotent: a second run changes nothing).
    SeedDemo {
        #[arg(long)]
        db: PathBuf,
        #[arg(long, default_value = demo::DEMO_STORE)]
        store: String,
    },
    /// Create a store.
    AddStore {
        #[arg(long)]
        db: PathBuf,
        #[arg(long)]
        store: String,
        #[arg(long)]
        name: String,
    },
    /// Issue a one-time enrollment code for a store: a new device joins the store with it.
    /// Prints the code alone (or JSON with --json), for people and scripts.
    EnrollmentCode {
        #[arg(long)]
        db: PathBuf,
        #[arg(long)]
        store: String,
        /// How long the code stays valid (default 24 hours).
        #[arg(long)]
        valid_minutes: Option<u32>,
        #[arg(long)]
        json: bool,
    },
    /// Add or update an associate; the PIN is read from the environment variable STOREHAND_PIN.
    AddAssociate {
        #[arg(long)]
        db: PathBuf,
        #[arg(long)]
        store: String,
        #[arg(long)]
        staff_id: String,
        #[arg(long)]
        name: String,
        #[arg(long, value_enum)]
        role: RoleArg,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum RoleArg {
    Associate,
    Lead,
    Manager,
}

impl From<RoleArg> for Role {
    fn from(role: RoleArg) -> Role {
        match role {
            RoleArg::Associate => Role::Associate,
            RoleArg::Lead => Role::Lead,
            RoleArg::Manager => Role::Manager,
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        // Colours only on a terminal: a log file or a test's captured output stays plain.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("STOREHAND_LOG")
                .or_else(|_| tracing_subscriber::EnvFilter::try_from_default_env())
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    match run(cli.command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("storehand-central: {err}");
            ExitCode::FAILURE
        }
    }
}

fn run(command: Command) -> Result<()> {
    match command {
        Command::Serve {
            db,
            listen,
            admin_token,
        } => {
            let runtime = tokio::runtime::Runtime::new()
                .map_err(|e| Error::Internal(format!("cannot start the async runtime: {e}")))?;
            runtime.block_on(server::serve(server::ServeConfig {
                db,
                listen,
                admin_token,
            }))
        }
        Command::ImportOff { db, json, paths } => import_off(&db, json, &paths),
        Command::SampleOff { out, count, paths } => sample_off(&out, count, &paths),
        Command::ConvertOlist {
            olist,
            db,
            store,
            out,
        } => convert_olist(&olist, &db, &store, out.as_deref()),
        Command::LoadOrders { db, file } => {
            let entries = orders::read_jsonl(&file)?;
            let mut conn = db::open(&db)?;
            let loaded = db::write(&mut conn, |tx| orders::load(tx, &entries))?;
            println!(
                "loaded {}: {} orders created, {} cancelled, {} already present",
                file.display(),
                loaded.created,
                loaded.cancelled,
                loaded.already_present
            );
            Ok(())
        }
        Command::SeedDemo { db, store } => seed_demo(&db, &store),
        Command::AddStore { db, store, name } => {
            let mut conn = db::open(&db)?;
            if db::write(&mut conn, |tx| stores::create(tx, &store, &name))? {
                println!("store {store} created");
            } else {
                println!("store {store} already exists; nothing changed");
            }
            Ok(())
        }
        Command::EnrollmentCode {
            db,
            store,
            valid_minutes,
            json,
        } => {
            let mut conn = db::open(&db)?;
            let code = db::write(&mut conn, |tx| enrollment::issue(tx, &store, valid_minutes))?;
            if json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&code)
                        .map_err(|e| Error::Internal(e.to_string()))?
                );
            } else {
                println!("{}", code.code);
            }
            Ok(())
        }
        Command::AddAssociate {
            db,
            store,
            staff_id,
            name,
            role,
        } => {
            let pin = std::env::var("STOREHAND_PIN").map_err(|_| {
                Error::invalid(
                    "missing_pin",
                    "set the PIN in the environment variable STOREHAND_PIN (never on the \
                     command line)",
                )
            })?;
            let mut conn = db::open(&db)?;
            let change = db::write(&mut conn, |tx| {
                stores::put_associate(tx, &store, &staff_id, &name, role.into(), &pin)
            })?;
            let what = match change {
                stores::AssociateChange::Created => "added",
                stores::AssociateChange::Updated => "updated",
                stores::AssociateChange::Unchanged => "unchanged",
            };
            println!("associate {staff_id} of store {store} {what}");
            Ok(())
        }
    }
}

fn import_off(db_path: &Path, json: bool, paths: &[PathBuf]) -> Result<()> {
    // Check the inputs before creating or opening the database.
    off::collect_files(paths)?;
    let mut conn = db::open(db_path)?;
    let report = off::import(&mut conn, paths)?;
    if json {
        let text = serde_json::to_string_pretty(&report)
            .map_err(|e| Error::Internal(format!("the report does not serialise: {e}")))?;
        println!("{text}");
        return Ok(());
    }
    let r = &report.reading;
    let rate = r.rows_seen as f64 / report.seconds.max(1e-9);
    println!(
        "accepted {} products from {} files ({} rows seen, {:.0} rows/s): {} new, {} changed, \
         {} unchanged",
        r.accepted,
        r.files,
        r.rows_seen,
        rate,
        report.upserted.inserted,
        report.upserted.updated,
        report.upserted.unchanged
    );
    println!("rejected {} rows", r.rejected_total());
    for (reason, count) in &r.rejected {
        println!("  {:<28} {count:>7}", reason.label());
    }
    if r.images_dropped > 0 {
        println!(
            "dropped {} image values that were not URLs",
            r.images_dropped
        );
    }
    if r.skipped_statements + r.unreadable_statements > 0 {
        println!(
            "skipped {} statements without product rows, {} unreadable",
            r.skipped_statements, r.unreadable_statements
        );
    }
    if !r.examples.is_empty() {
        println!("examples:");
        for e in &r.examples {
            println!(
                "  {}:{}: {}: {}",
                e.file,
                e.line,
                e.reason.label(),
                e.detail
            );
        }
    }
    Ok(())
}

fn sample_off(out: &Path, count: usize, paths: &[PathBuf]) -> Result<()> {
    let files = off::collect_files(paths)?;
    let (products, reading) = off::read_files(&files)?;
    let picked = demo::sample(&products, count);
    let file = std::fs::File::create(out).map_err(|e| Error::io(out, e))?;
    demo::write_sample(std::io::BufWriter::new(file), &picked)?;
    println!(
        "wrote {} of {} accepted products ({} files) to {}",
        picked.len(),
        reading.accepted,
        reading.files,
        out.display()
    );
    Ok(())
}

fn convert_olist(dir: &Path, db_path: &Path, store: &str, out: Option<&Path>) -> Result<()> {
    if !db_path.exists() {
        return Err(Error::invalid(
            "no_database",
            format!(
                "{} does not exist; import a catalogue into it first",
                db_path.display()
            ),
        ));
    }
    let conn = db::open(db_path)?;
    let (entries, report) = olist::convert(dir, &conn, store)?;
    match out {
        Some(path) => {
            let file = std::fs::File::create(path).map_err(|e| Error::io(path, e))?;
            olist::write_jsonl(&mut std::io::BufWriter::new(file), &entries)
                .map_err(|e| Error::io(path, e))?;
        }
        None => olist::write_jsonl(&mut std::io::stdout().lock(), &entries)
            .map_err(|e| Error::io("stdout", e))?,
    }
    eprintln!(
        "olist: {} orders seen, {} converted, {} cancellations, {} skipped, {} lines written",
        report.orders_seen,
        report.converted_total(),
        report.cancelled,
        report.skipped_total(),
        report.lines_written
    );
    for (status, count) in &report.converted {
        eprintln!("  converted {status:<12} {count:>6}");
    }
    for (reason, by_status) in &report.skipped {
        for (status, count) in by_status {
            eprintln!("  skipped   {status:<12} {count:>6}  ({})", reason.label());
        }
    }
    eprintln!(
        "  item rows: {} read, {} unreadable, {} of orders not in the orders file",
        report.item_rows, report.unreadable_item_rows, report.items_of_unknown_orders
    );
    Ok(())
}

fn seed_demo(db_path: &Path, store: &str) -> Result<()> {
    let mut conn = db::open(db_path)?;
    let s = demo::seed(&mut conn, store)?;
    if !s.changed() {
        println!(
            "nothing changed: demo store {} is already seeded ({} sample products, {} \
             associates, stock for {} products, {} orders present)",
            s.store_id,
            s.catalogue.unchanged,
            s.associates.len(),
            s.stock_levels,
            s.orders.already_present
        );
        return Ok(());
    }
    println!("demo store {} seeded:", s.store_id);
    println!(
        "  catalogue: {} new, {} changed, {} unchanged sample products",
        s.catalogue.inserted, s.catalogue.updated, s.catalogue.unchanged
    );
    println!(
        "  store: {}",
        if s.store_created {
            "created"
        } else {
            "already there"
        }
    );
    for (staff_id, change) in &s.associates {
        println!("  associate {staff_id}: {change:?}");
    }
    println!(
        "  stock for {} products: {}",
        s.stock_levels,
        if s.stock_replaced {
            "set (new epoch)"
        } else {
            "unchanged"
        }
    );
    println!(
        "  orders: {} created, {} cancelled, {} already present",
        s.orders.created, s.orders.cancelled, s.orders.already_present
    );
    Ok(())
}
