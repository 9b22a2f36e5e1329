//! The pickup flow end to end through the core, against a real central.

use std::time::Duration;

use storehand::api::{OrderStatus, OrderView};
use storehand::contract::Verification;

use crate::support::{Central, device, first_queued, pick_all, runtime};

#[test]
fn an_order_is_picked_staged_readied_and_handed_over_with_one_event_of_each_kind_at_central() {
    let dir = tempfile::tempdir().unwrap();
    let central = Central::demo(dir.path());
    let device = device(dir.path(), "tablet-1", &central);
    let order = first_queued(&device);
    let id = order.summary.id.clone();
    let platform_id = order.summary.platform_order_id.clone();
    assert_eq!(order.summary.status, OrderStatus::New);

    let picked = pick_all(&device, &order);
    assert_eq!(picked.summary.status, OrderStatus::Picked);
    assert_eq!(picked.summary.units_picked, picked.summary.units_ordered);

    let staged = device.stage_order(&id, "BIN-A01").unwrap();
    assert_eq!(
        (staged.summary.status, staged.summary.bin.as_deref()),
        (OrderStatus::Staged, Some("BIN-A01"))
    );
    let ready = device.mark_ready(&id).unwrap();
    assert_eq!(ready.summary.status, OrderStatus::Ready);
    let counter = device.list_orders(OrderView::Counter).unwrap();
    assert!(
        counter.iter().any(|o| o.id == id),
        "a ready order waits at the counter"
    );

    let found = device
        .find_pickup(&order.pickup_code.to_lowercase())
        .unwrap();
    assert_eq!(found.len(), 1, "the pickup code finds exactly its order");
    assert_eq!(found[0].id, id);
    let by_name = device.find_pickup(&order.summary.customer_name).unwrap();
    assert!(by_name.iter().any(|o| o.id == id));
    let by_number = device.find_pickup(&order.summary.order_number).unwrap();
    assert_eq!(by_number[0].id, id);

    let done = device
        .hand_over(
            &id,
            Verification::PickupCode,
            Some(&order.pickup_code),
            None,
        )
        .unwrap();
    assert_eq!(done.summary.status, OrderStatus::HandedOver);
    let kinds: Vec<_> = done.history.iter().map(|h| h.kind.as_str()).collect();
    assert!(kinds.ends_with(&[
        "order_picked",
        "order_staged",
        "order_ready",
        "order_handed_over"
    ]));
    assert!(
        done.history
            .iter()
            .all(|h| h.associate_id == "1001" && !h.device_id.is_empty())
    );

    let report = runtime().block_on(device.sync()).unwrap();
    assert_eq!(report.events_waiting, 0);
    assert_eq!(
        central.event_kinds(&platform_id),
        [
            "order_handed_over",
            "order_picked",
            "order_ready",
            "order_staged"
        ]
    );
    assert_eq!(
        central.notifications(&platform_id).len(),
        1,
        "central notified the customer"
    );
    assert!(device.outbox().unwrap().iter().all(|e| e.state == "stored"));

    // A second sync sends nothing again.
    runtime().block_on(device.sync()).unwrap();
    assert_eq!(central.events(&platform_id).len(), 4);
}

#[test]
fn ready_sent_twice_40_ms_apart_makes_one_event_and_one_notification() {
    let dir = tempfile::tempdir().unwrap();
    let central = Central::demo(dir.path());
    let device = device(dir.path(), "tablet-1", &central);
    let order = first_queued(&device);
    pick_all(&device, &order);
    device.stage_order(&order.summary.id, "BIN-B02").unwrap();

    let first = device.mark_ready(&order.summary.id).unwrap();
    std::thread::sleep(Duration::from_millis(40));
    let second = device.mark_ready(&order.summary.id).unwrap();
    assert_eq!(
        first.history, second.history,
        "the second tap recorded nothing"
    );
    let ready_events = device
        .outbox()
        .unwrap()
        .into_iter()
        .filter(|e| e.kind == "order_ready")
        .count();
    assert_eq!(ready_events, 1);

    runtime().block_on(device.sync()).unwrap();
    let platform_id = &order.summary.platform_order_id;
    let kinds = central.event_kinds(platform_id);
    assert_eq!(kinds.iter().filter(|k| *k == "order_ready").count(), 1);
    assert_eq!(central.notifications(platform_id).len(), 1);
}

#[test]
fn a_pick_moves_stock_on_hand_and_available_follows_open_orders() {
    let dir = tempfile::tempdir().unwrap();
    let central = Central::demo(dir.path());
    let device = device(dir.path(), "tablet-1", &central);
    let order = first_queued(&device);
    let line = &order.lines[0];
    let before = device
        .search_products(&line.printed_code)
        .unwrap()
        .remove(0);
    let (on_hand, available) = (before.on_hand.unwrap(), before.available.unwrap());
    assert!(
        available <= on_hand - line.ordered as i32,
        "open demand is held against stock"
    );

    device
        .scan_item(&order.summary.id, &line.printed_code)
        .unwrap();
    let after = device
        .search_products(&line.printed_code)
        .unwrap()
        .remove(0);
    assert_eq!(
        after.on_hand,
        Some(on_hand - 1),
        "a pick moves one unit off the shelf"
    );
    assert_eq!(
        after.available,
        Some(available),
        "the unit was already promised"
    );
}
