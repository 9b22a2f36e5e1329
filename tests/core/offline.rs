//! The store keeps working without central, and write-back stays exactly once across outages
//! and lost responses.

use storehand::api::{ErrorCode, OrderStatus};
use storehand::contract::Verification;

use crate::support::{Central, device, first_queued, pick_all, runtime};

#[test]
fn with_central_stopped_mid_flow_the_flow_completes_and_the_outbox_drains_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let mut central = Central::demo(dir.path());
    let device = device(dir.path(), "tablet-1", &central);
    let order = first_queued(&device);
    let (id, platform_id) = (
        order.summary.id.clone(),
        order.summary.platform_order_id.clone(),
    );
    let first = &order.lines[0];
    device.scan_item(&id, &first.printed_code).unwrap();

    central.stop();
    pick_all(&device, &device.order(&id).unwrap());
    device.stage_order(&id, "BIN-A01").unwrap();
    device.mark_ready(&id).unwrap();
    device
        .hand_over(
            &id,
            Verification::PickupCode,
            Some(&order.pickup_code),
            None,
        )
        .unwrap();
    let err = runtime().block_on(device.sync()).unwrap_err();
    assert_eq!(err.code(), ErrorCode::Central, "{err}");
    let status = device.status().unwrap();
    assert!(!status.online);
    assert_eq!(status.outbox_waiting, 4);
    assert!(status.last_error.unwrap().contains("unreachable"));
    assert_eq!(
        device.order(&id).unwrap().summary.status,
        OrderStatus::HandedOver
    );

    central.restart();
    let report = runtime().block_on(device.sync()).unwrap();
    assert_eq!((report.events_pushed, report.events_waiting), (4, 0));
    assert!(device.status().unwrap().online);
    assert_eq!(
        central.event_kinds(&platform_id),
        [
            "order_handed_over",
            "order_picked",
            "order_ready",
            "order_staged"
        ]
    );
    runtime().block_on(device.sync()).unwrap();
    assert_eq!(
        central.events(&platform_id).len(),
        4,
        "nothing is sent twice"
    );
}

#[test]
fn a_retry_after_a_dropped_response_is_not_stored_twice() {
    let dir = tempfile::tempdir().unwrap();
    let central = Central::demo(dir.path());
    let device = device(dir.path(), "tablet-1", &central);
    let order = first_queued(&device);
    pick_all(&device, &order);
    device.stage_order(&order.summary.id, "BIN-A01").unwrap();

    central.drop_event_responses(1);
    let err = runtime().block_on(device.sync()).unwrap_err();
    assert_eq!(err.code(), ErrorCode::Central, "{err}");
    let platform_id = &order.summary.platform_order_id;
    assert_eq!(
        central.events(platform_id).len(),
        2,
        "central stored the batch it never answered"
    );
    assert_eq!(
        device.status().unwrap().outbox_waiting,
        2,
        "the device could not know"
    );
    assert!(device.outbox().unwrap().iter().all(|e| e.attempts == 1));

    let report = runtime().block_on(device.sync()).unwrap();
    assert_eq!(report.events_waiting, 0);
    assert_eq!(
        central.event_kinds(platform_id),
        ["order_picked", "order_staged"]
    );
    assert!(
        device
            .outbox()
            .unwrap()
            .iter()
            .all(|e| e.state == "duplicate")
    );
}

#[test]
fn write_back_central_rejects_shows_its_reason_and_is_not_retried() {
    let dir = tempfile::tempdir().unwrap();
    let central = Central::demo(dir.path());
    let device = device(dir.path(), "tablet-1", &central);
    let order = first_queued(&device);
    pick_all(&device, &order);
    device.stage_order(&order.summary.id, "BIN-A01").unwrap();
    // The platform cancels before the device's steps arrive: the cancel wins at central.
    central.cancel(
        &order.summary.platform_order_id,
        "customer cancelled online",
    );

    let report = runtime().block_on(device.sync()).unwrap();
    assert_eq!(
        (report.events_pushed, report.events_waiting),
        (2, 0),
        "answered, not retried"
    );
    let outbox = device.outbox().unwrap();
    assert!(outbox.iter().all(|e| e.state == "rejected"), "{outbox:?}");
    for entry in &outbox {
        let reason = entry.last_error.as_deref().unwrap_or_default();
        assert!(reason.contains("cancelled by the platform"), "{reason}");
    }
    assert_eq!(
        device.order(&order.summary.id).unwrap().summary.status,
        OrderStatus::Cancelled
    );
    assert!(central.events(&order.summary.platform_order_id).is_empty());
}
