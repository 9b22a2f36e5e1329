//! The `storehand` command line: readable output, `--json` for scripts, exit 0 on success and
//! non-zero with the reason on stderr when the input is refused.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

use crate::support::{Central, STORE, storehand_bin};

fn storehand(data_dir: &Path, args: &[&str]) -> Output {
    Command::new(storehand_bin())
        .arg("--data-dir")
        .arg(data_dir)
        .args(args)
        .env("STOREHAND_STAFF", "1001")
        .env("STOREHAND_PIN", "1234")
        .env_remove("STOREHAND_LOG")
        .output()
        .unwrap()
}

fn ok_json(data_dir: &Path, args: &[&str]) -> Value {
    let out = storehand(data_dir, &[&["--json"], args].concat());
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn refused(out: &Output) -> String {
    assert_eq!(
        out.status.code(),
        Some(2),
        "stdout: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(out.stdout.is_empty(), "a refusal prints nothing on stdout");
    String::from_utf8(out.stderr.clone()).unwrap()
}

#[test]
fn the_whole_pickup_flow_runs_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let central = Central::demo(dir.path());
    let data = dir.path().join("cli-device");
    let code = central.enrollment_code(STORE);
    let setup = [
        "setup",
        "--central",
        &central.url,
        "--code",
        &code,
        "--name",
        "cli",
    ];
    ok_json(&data, &setup);

    let queue = ok_json(&data, &["orders"]);
    let number = queue[0]["orderNumber"].as_str().unwrap().to_owned();
    let order = ok_json(&data, &["order", &number]);
    for line in order["lines"].as_array().unwrap() {
        let code = line["printedCode"].as_str().unwrap();
        for _ in 0..line["ordered"].as_u64().unwrap() {
            let text = storehand(&data, &["scan", &number, code]);
            assert!(
                text.status.success(),
                "{}",
                String::from_utf8_lossy(&text.stderr)
            );
            assert!(String::from_utf8_lossy(&text.stdout).starts_with("picked "));
        }
    }
    ok_json(&data, &["stage", &number, "BIN-A04"]);
    let ready = ok_json(&data, &["ready", &number]);
    assert_eq!(ready["summary"]["status"], "ready");
    let code = ready["pickupCode"].as_str().unwrap().to_owned();
    let found = ok_json(&data, &["find", &code]);
    assert_eq!(found[0]["orderNumber"], number.as_str());
    let done = ok_json(
        &data,
        &[
            "handover",
            &number,
            "--verify",
            "pickup-code",
            "--code",
            &code,
        ],
    );
    assert_eq!(done["summary"]["status"], "handed_over");

    let outbox = ok_json(&data, &["outbox"]);
    assert_eq!(outbox.as_array().unwrap().len(), 4);
    assert!(
        outbox
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["state"] == "pending")
    );
    let sync = ok_json(&data, &["sync"]);
    assert_eq!(sync["eventsWaiting"], 0);
    let status = ok_json(&data, &["status"]);
    assert_eq!(status["outboxWaiting"], 0);
    assert_eq!(status["online"], true);
}

#[test]
fn refused_input_exits_non_zero_with_the_reason_on_stderr() {
    let dir = tempfile::tempdir().unwrap();
    let central = Central::demo(dir.path());
    let data = dir.path().join("cli-device");

    let not_set_up = refused(&storehand(&data, &["orders"]));
    assert!(not_set_up.contains("not enrolled"), "{not_set_up}");
    let code = central.enrollment_code(STORE);
    let enrol = |url: &str, code: &str| {
        storehand(
            &data,
            &["setup", "--central", url, "--code", code, "--name", "cli"],
        )
    };
    let bad_url = refused(&enrol("ftp://x", &code));
    assert!(bad_url.contains("not a central URL"), "{bad_url}");
    let wrong = refused(&enrol(&central.url, "ACDE-FGHJ-KMNP"));
    assert!(
        wrong.contains("never issued this enrollment code"),
        "{wrong}"
    );
    assert!(refused(&storehand(&data, &["orders"])).contains("not enrolled"));

    ok_json(
        &data,
        &[
            "setup",
            "--central",
            &central.url,
            "--code",
            &code,
            "--name",
            "cli",
        ],
    );
    let spent = storehand(
        &dir.path().join("second"),
        &[
            "setup",
            "--central",
            &central.url,
            "--code",
            &code,
            "--name",
            "b",
        ],
    );
    assert!(refused(&spent).contains("already used"));
    let queue = ok_json(&data, &["orders"]);
    let number = queue[0]["orderNumber"].as_str().unwrap().to_owned();

    let bad_check = refused(&storehand(&data, &["scan", &number, "4006381333932"]));
    assert!(bad_check.contains("check digit"), "{bad_check}");
    let json = storehand(&data, &["--json", "scan", &number, "4006381333932"]);
    let err: Value = serde_json::from_slice(&json.stderr).unwrap();
    assert_eq!(err["code"], "bad_check_digit");

    let wrong_pin = Command::new(storehand_bin())
        .arg("--data-dir")
        .arg(&data)
        .args(["--staff", "1001", "ready", &number])
        .env("STOREHAND_PIN", "0000")
        .output()
        .unwrap();
    assert!(refused(&wrong_pin).contains("do not match"));
    let no_staff = Command::new(storehand_bin())
        .arg("--data-dir")
        .arg(&data)
        .args(["ready", &number])
        .env_remove("STOREHAND_STAFF")
        .output()
        .unwrap();
    assert!(refused(&no_staff).contains("--staff"));
    let unknown = refused(&storehand(&data, &["find", "Nobody-By-This-Name"]));
    assert!(unknown.contains("no order matches"), "{unknown}");
    let fresh = central.enrollment_code(STORE);
    let again = refused(&enrol(&central.url, &fresh));
    assert!(again.contains("already enrolled"), "{again}");
}
