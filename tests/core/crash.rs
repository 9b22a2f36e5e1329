//! Killing the device process right after a confirmed scan loses nothing.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};

use crate::support::{Central, STORE, first_queued, storehand_bin};

#[test]
fn killing_the_device_process_right_after_a_confirmed_scan_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let central = Central::demo(dir.path());
    let data_dir = dir.path().join("tablet-1");
    let setup = Command::new(storehand_bin())
        .args(["--data-dir", data_dir.to_str().unwrap(), "setup"])
        .args([
            "--central",
            &central.url,
            "--code",
            &central.enrollment_code(STORE),
        ])
        .args(["--name", "tablet-1"])
        .output()
        .unwrap();
    assert!(
        setup.status.success(),
        "{}",
        String::from_utf8_lossy(&setup.stderr)
    );
    let order = {
        let device = storehand::Device::open(&data_dir).unwrap();
        first_queued(&device)
    };
    let line = order
        .lines
        .iter()
        .max_by_key(|l| l.ordered)
        .unwrap()
        .clone();

    // A scanner on a serial line: one scan a line, each confirmed on stdout once durable.
    let mut child = Command::new(storehand_bin())
        .args(["--data-dir", data_dir.to_str().unwrap(), "--staff", "1001"])
        .args(["scan", &order.summary.order_number, "--stdin"])
        .env("STOREHAND_PIN", "1234")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    writeln!(stdin, "{}", line.printed_code).unwrap();
    let mut confirmation = String::new();
    stdout.read_line(&mut confirmation).unwrap();
    assert!(confirmation.starts_with("picked "), "{confirmation:?}");
    child.kill().unwrap();
    child.wait().unwrap();

    let device = storehand::Device::open(&data_dir).unwrap();
    let after = device.order(&order.summary.id).unwrap();
    let picked = after
        .lines
        .iter()
        .find(|l| l.line_id == line.line_id)
        .unwrap()
        .picked;
    assert_eq!(picked, 1, "the confirmed scan survived the kill");
    assert_eq!(after.history.len(), 1);
}
