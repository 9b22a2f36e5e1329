//! Every refused input gets its own error code and leaves the replica exactly as it was.

use storehand::Device;
use storehand::api::{ErrorCode, OrderDetail, OrderView};
use storehand::contract::Verification;

use crate::support::{Central, device, fingerprint, first_queued, pick_all, runtime};

/// Runs `attempt`, which must be refused with `code`, and checks nothing changed.
fn assert_refused_unchanged(
    device: &Device,
    code: ErrorCode,
    attempt: impl FnOnce() -> storehand::Result<OrderDetail>,
) -> String {
    let before = fingerprint(device);
    let err = attempt().expect_err("the input must be refused");
    assert_eq!(err.code(), code, "refused for the wrong reason: {err}");
    assert!(!err.to_string().is_empty());
    assert_eq!(
        fingerprint(device),
        before,
        "a refused input changed the replica: {err}"
    );
    err.to_string()
}

fn scan(device: &Device, order: &OrderDetail, text: &str) -> storehand::Result<OrderDetail> {
    device.scan_item(&order.summary.id, text).map(|r| r.order)
}

/// A catalogue product that is not on `order`.
fn product_not_on(device: &Device, order: &OrderDetail) -> String {
    for other in device.list_orders(OrderView::All).unwrap() {
        for line in device.order(&other.id).unwrap().lines {
            if order.lines.iter().all(|l| l.gtin14 != line.gtin14) {
                return line.printed_code;
            }
        }
    }
    panic!("every order has the same products");
}

#[test]
fn each_refused_scan_has_its_own_reason_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let central = Central::demo(dir.path());
    let device = device(dir.path(), "tablet-1", &central);
    let order = first_queued(&device);
    let line = order.lines[0].clone();

    let other = product_not_on(&device, &order);
    let message = assert_refused_unchanged(&device, ErrorCode::WrongItem, || {
        scan(&device, &order, &other)
    });
    assert!(message.contains(&order.summary.order_number), "{message}");

    // A real GTIN (a Stabilo pen) that the food catalogue does not have.
    assert!(device.search_products("4006381333931").unwrap().is_empty());
    assert_refused_unchanged(&device, ErrorCode::UnknownCode, || {
        scan(&device, &order, "4006381333931")
    });

    let code = &line.printed_code;
    let last = code.chars().last().unwrap().to_digit(10).unwrap();
    let misread = format!("{}{}", &code[..code.len() - 1], (last + 1) % 10);
    assert_refused_unchanged(&device, ErrorCode::BadCheckDigit, || {
        scan(&device, &order, &misread)
    });

    assert_refused_unchanged(&device, ErrorCode::NotAScan, || {
        scan(&device, &order, "BIN-A01")
    });
    assert_refused_unchanged(&device, ErrorCode::NotAScan, || {
        scan(&device, &order, "&é\"'(-è_")
    });
    let glued = format!("{code}{code}");
    assert_refused_unchanged(&device, ErrorCode::NotAScan, || {
        scan(&device, &order, &glued)
    });

    for _ in 0..line.ordered {
        scan(&device, &order, code).unwrap();
    }
    let message =
        assert_refused_unchanged(&device, ErrorCode::OverPick, || scan(&device, &order, code));
    assert!(message.contains(&line.name), "{message}");
}

#[test]
fn steps_out_of_order_are_refused_and_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let central = Central::demo(dir.path());
    let device = device(dir.path(), "tablet-1", &central);
    let order = first_queued(&device);
    let id = order.summary.id.clone();

    assert_refused_unchanged(&device, ErrorCode::WrongState, || {
        device.stage_order(&id, "BIN-A01")
    });
    assert_refused_unchanged(&device, ErrorCode::WrongState, || device.mark_ready(&id));
    assert_refused_unchanged(&device, ErrorCode::WrongState, || {
        device.hand_over(&id, Verification::PhotoId, None, None)
    });
    pick_all(&device, &order);
    assert_refused_unchanged(&device, ErrorCode::NotAScan, || {
        device.stage_order(&id, &order.lines[0].printed_code)
    });
    device.stage_order(&id, "BIN-A01").unwrap();
    assert_refused_unchanged(&device, ErrorCode::WrongState, || {
        device.stage_order(&id, "BIN-C03")
    });
    device.mark_ready(&id).unwrap();
    assert_refused_unchanged(&device, ErrorCode::PickupCodeMismatch, || {
        device.hand_over(&id, Verification::PickupCode, Some("ACDE-FGHJ"), None)
    });
    assert_refused_unchanged(&device, ErrorCode::PickupCodeMismatch, || {
        device.hand_over(&id, Verification::PickupCode, None, None)
    });
    assert_refused_unchanged(&device, ErrorCode::NotFound, || device.mark_ready("D-NOPE"));
    // Central refuses control characters in names; so does the device, before anything is
    // confirmed that central would reject forever.
    assert_refused_unchanged(&device, ErrorCode::Invalid, || {
        device.hand_over(&id, Verification::PhotoId, None, Some("Sam\nDoe"))
    });
    let long = "x".repeat(storehand::contract::MAX_TEXT + 1);
    assert_refused_unchanged(&device, ErrorCode::Invalid, || {
        device.hand_over(&id, Verification::PhotoId, None, Some(&long))
    });

    device.sign_out();
    assert_refused_unchanged(&device, ErrorCode::NotSignedIn, || {
        device.hand_over(&id, Verification::PhotoId, None, None)
    });
}

#[test]
fn any_scan_on_a_completed_or_cancelled_order_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let central = Central::demo(dir.path());
    let device = device(dir.path(), "tablet-1", &central);
    let queue = device.list_orders(OrderView::Queue).unwrap();
    let done = device.order(&queue[0].id).unwrap();
    let to_cancel = device.order(&queue[1].id).unwrap();

    pick_all(&device, &done);
    device.stage_order(&done.summary.id, "BIN-A01").unwrap();
    device.mark_ready(&done.summary.id).unwrap();
    device
        .hand_over(
            &done.summary.id,
            Verification::PhotoId,
            None,
            Some("Sam Doe"),
        )
        .unwrap();
    let code = done.lines[0].printed_code.clone();
    assert_refused_unchanged(&device, ErrorCode::OrderCompleted, || {
        scan(&device, &done, &code)
    });

    // Central cancels while the store picks: the cancel wins once it arrives.
    let code = to_cancel.lines[0].printed_code.clone();
    scan(&device, &to_cancel, &code).unwrap();
    central.cancel(
        &to_cancel.summary.platform_order_id,
        "customer cancelled online",
    );
    runtime().block_on(device.sync()).unwrap();
    let message = assert_refused_unchanged(&device, ErrorCode::OrderCancelled, || {
        scan(&device, &to_cancel, &code)
    });
    assert!(message.contains("customer cancelled online"), "{message}");
    let cancelled = device.order(&to_cancel.summary.id).unwrap();
    assert_eq!(
        cancelled.summary.status,
        storehand::api::OrderStatus::Cancelled
    );
    assert_refused_unchanged(&device, ErrorCode::OrderCancelled, || {
        device.stage_order(&to_cancel.summary.id, "BIN-A02")
    });
}
