//! The pickup label decodes back to the pickup code with a real decoder: the SVG is rendered
//! by librsvg (`rsvg-convert`) and read by zbar (`zbarimg`), both from Debian.

use std::process::Command;

use crate::support::{Central, device, first_queued};

fn tool(name: &str) -> bool {
    let found = Command::new("sh")
        .args(["-c", &format!("command -v {name}")])
        .output();
    let ok = found.is_ok_and(|o| o.status.success());
    if !ok {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "{name} is not installed"
        );
        eprintln!("skipped: {name} is not installed (apt-get install librsvg2-bin zbar-tools)");
    }
    ok
}

#[test]
fn the_pickup_label_decodes_back_to_the_pickup_code() {
    if !tool("rsvg-convert") || !tool("zbarimg") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let central = Central::demo(dir.path());
    let device = device(dir.path(), "tablet-1", &central);
    let order = first_queued(&device);
    let label = device.pickup_label(&order.summary.order_number).unwrap();
    assert_eq!(label.code, order.pickup_code);

    let svg = dir.path().join("label.svg");
    let png = dir.path().join("label.png");
    std::fs::write(&svg, &label.svg).unwrap();
    let render = Command::new("rsvg-convert")
        .arg(&svg)
        .arg("-o")
        .arg(&png)
        .output()
        .unwrap();
    assert!(
        render.status.success(),
        "{}",
        String::from_utf8_lossy(&render.stderr)
    );
    let decoded = Command::new("zbarimg")
        .args(["--quiet", "--raw", "-Scode128.enable"])
        .arg(&png)
        .output()
        .unwrap();
    assert!(decoded.status.success(), "zbarimg found no barcode");
    let text = String::from_utf8(decoded.stdout).unwrap();
    assert_eq!(text.trim(), order.pickup_code);
}
