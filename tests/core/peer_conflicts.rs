//! The conflict rules of DESIGN.md ("How conflicts resolve"), each with devices of one store
//! that work apart and then sync as peers.

use storehand::Device;
use storehand::api::{ErrorCode, OrderDetail, OrderStatus, OrderView};
use storehand::contract::Verification;
use storehand::peer;
use storehand::replica::Replica;
use storehand::stock;

use super::{assert_same, replicated};
use crate::support::{Central, device, pick_all, runtime, rusqlite_open};

/// The queued order with the most units, and one of its lines ordered more than once.
fn order_with_a_multi_unit_line(device: &Device) -> (OrderDetail, usize) {
    for summary in device.list_orders(OrderView::Queue).unwrap() {
        let order = device.order(&summary.id).unwrap();
        if let Some(line) = order.lines.iter().position(|l| l.ordered >= 2) {
            return (order, line);
        }
    }
    panic!("the demo store has an order with a line of two units or more");
}

fn on_hand(device: &Device, code: &str) -> i32 {
    device.search_products(code).unwrap()[0]
        .on_hand
        .expect("central sent stock for the product")
}

fn kinds(order: &OrderDetail, kind: &str) -> usize {
    order.history.iter().filter(|h| h.kind == kind).count()
}

/// Syncs two devices as peers and checks the session converged.
fn sync_peers(a: &Device, b: &Device) {
    let run = peer::exchange(a, b).unwrap();
    assert!(run.converged(), "{run:?}");
}

#[test]
fn two_associates_picking_the_same_order_at_once_add_up_and_the_extras_show_as_over_picked() {
    let dir = tempfile::tempdir().unwrap();
    let central = Central::demo(dir.path());
    let a = device(dir.path(), "tablet-1", &central);
    let b = device(dir.path(), "tablet-2", &central);
    let (order, l) = order_with_a_multi_unit_line(&a);
    let line = order.lines[l].clone();
    let before = on_hand(&a, &line.printed_code);

    // Neither device knows of the other's scans: a picks the whole order, b one unit.
    pick_all(&a, &order);
    b.scan_item(&order.summary.id, &line.printed_code).unwrap();
    sync_peers(&a, &b);

    assert_same(&a, &b);
    for device in [&a, &b] {
        let merged = device.order(&order.summary.id).unwrap();
        let merged_line = &merged.lines[l];
        assert_eq!(
            (merged_line.picked, merged_line.over_picked),
            (line.ordered, 1),
            "the scans add up, the extra unit shows as over-picked, to put back"
        );
        assert_eq!(merged.summary.status, OrderStatus::Picked);
        assert_eq!(
            kinds(&merged, "item_picked") as u32,
            order.summary.units_ordered + 1
        );
        let pickers: std::collections::HashSet<_> =
            merged.history.iter().map(|h| h.device_id.clone()).collect();
        assert_eq!(pickers.len(), 2, "the history shows both devices' work");
        assert_eq!(
            on_hand(device, &line.printed_code),
            before - line.ordered as i32 - 1,
            "every scanned unit left the shelf once"
        );
    }
}

#[test]
fn an_order_completed_only_by_merged_picks_is_written_back_picked_before_staged() {
    let dir = tempfile::tempdir().unwrap();
    let central = Central::demo(dir.path());
    let a = device(dir.path(), "tablet-1", &central);
    let b = device(dir.path(), "tablet-2", &central);
    let (order, l) = order_with_a_multi_unit_line(&a);
    let id = order.summary.id.clone();

    // a picks every unit but one, b that last one: neither sees the order complete.
    let mut units: Vec<String> = Vec::new();
    for line in &order.lines {
        units.extend(std::iter::repeat_n(
            line.printed_code.clone(),
            line.ordered as usize,
        ));
    }
    let last = order.lines[l].printed_code.clone();
    let at = units.iter().rposition(|c| *c == last).unwrap();
    units.remove(at);
    for code in &units {
        a.scan_item(&id, code).unwrap();
    }
    b.scan_item(&id, &last).unwrap();
    assert_eq!(kinds(&a.order(&id).unwrap(), "order_picked"), 0);
    assert_eq!(kinds(&b.order(&id).unwrap(), "order_picked"), 0);
    sync_peers(&a, &b);
    assert_eq!(a.order(&id).unwrap().summary.status, OrderStatus::Picked);

    let staged = a.stage_order(&id, "BIN-C09").unwrap();
    assert_eq!(
        kinds(&staged, "order_picked"),
        1,
        "staging records the missing pick step"
    );
    runtime().block_on(a.sync()).unwrap();
    let at_central = central.event_kinds(&order.summary.platform_order_id);
    assert_eq!(at_central, ["order_picked", "order_staged"]);
    assert!(a.outbox().unwrap().iter().all(|e| e.state == "stored"));
}

#[test]
fn central_cancelling_while_an_offline_device_picks_wins_everywhere() {
    let dir = tempfile::tempdir().unwrap();
    let central = Central::demo(dir.path());
    let online = device(dir.path(), "tablet-1", &central);
    let offline = device(dir.path(), "tablet-2", &central);
    let order = online
        .order(&online.list_orders(OrderView::Queue).unwrap()[0].id)
        .unwrap();
    let code = order.lines[0].printed_code.clone();
    let before = on_hand(&online, &code);

    central.cancel(
        &order.summary.platform_order_id,
        "the customer cancelled online",
    );
    runtime().block_on(online.sync()).unwrap();
    assert_eq!(
        online.order(&order.summary.id).unwrap().summary.status,
        OrderStatus::Cancelled
    );
    // The offline device never heard of the cancel and picks the whole order.
    pick_all(&offline, &order);
    sync_peers(&offline, &online);

    assert_same(&online, &offline);
    for device in [&online, &offline] {
        let merged = device.order(&order.summary.id).unwrap();
        assert_eq!(
            merged.summary.status,
            OrderStatus::Cancelled,
            "the cancel wins"
        );
        assert_eq!(
            kinds(&merged, "item_picked") as u32,
            order.summary.units_ordered,
            "the picks are shown, to be put back"
        );
        let err = device
            .stage_order(&order.summary.id, "BIN-A01")
            .unwrap_err();
        assert_eq!(err.code(), ErrorCode::OrderCancelled, "{err}");
        let err = device.scan_item(&order.summary.id, &code).unwrap_err();
        assert_eq!(err.code(), ErrorCode::OrderCancelled, "{err}");
        let picked_of_line = order.lines[0].ordered as i32;
        assert_eq!(
            on_hand(device, &code),
            before - picked_of_line,
            "stock moved once, by the device that picked"
        );
    }

    // Central refuses the pick of a cancelled order; the answer reaches both devices.
    runtime().block_on(online.sync()).unwrap();
    sync_peers(&online, &offline);
    assert_same(&online, &offline);
    let outbox = offline.outbox().unwrap();
    let picked: Vec<_> = outbox
        .iter()
        .filter(|e| e.order_number == order.summary.order_number)
        .collect();
    assert_eq!(picked.len(), 1, "{picked:?}");
    assert_eq!(
        picked[0].state, "rejected",
        "central said the cancel wins: {picked:?}"
    );
    assert!(
        central.events(&order.summary.platform_order_id).is_empty(),
        "nothing of the cancelled order is stored at central"
    );
}

#[test]
fn two_offline_devices_marking_one_order_ready_and_handing_it_over_send_one_event_of_each() {
    let dir = tempfile::tempdir().unwrap();
    let central = Central::demo(dir.path());
    let a = device(dir.path(), "tablet-1", &central);
    let b = device(dir.path(), "tablet-2", &central);
    let order = a
        .order(&a.list_orders(OrderView::Queue).unwrap()[0].id)
        .unwrap();
    let id = order.summary.id.clone();
    pick_all(&a, &order);
    a.stage_order(&id, "BIN-A01").unwrap();
    sync_peers(&a, &b);

    a.mark_ready(&id).unwrap();
    b.mark_ready(&id).unwrap();
    sync_peers(&b, &a);
    for device in [&a, &b] {
        let merged = device.order(&id).unwrap();
        assert_eq!(kinds(&merged, "order_ready"), 1, "one ready stands");
        let ready = device.outbox().unwrap();
        let ready = ready.iter().filter(|e| e.kind == "order_ready").count();
        assert_eq!(ready, 1, "one ready to send");
    }

    let code = Some(order.pickup_code.as_str());
    a.hand_over(&id, Verification::PickupCode, code, None)
        .unwrap();
    b.hand_over(&id, Verification::PhotoId, None, Some("Sam"))
        .unwrap();
    sync_peers(&a, &b);
    assert_same(&a, &b);
    let merged = a.order(&id).unwrap();
    assert_eq!(merged.summary.status, OrderStatus::HandedOver);
    assert_eq!(
        kinds(&merged, "order_handed_over"),
        1,
        "one handover stands"
    );

    runtime().block_on(a.sync()).unwrap();
    sync_peers(&a, &b);
    assert_same(&a, &b);
    assert!(
        b.outbox().unwrap().iter().all(|e| e.state != "pending"),
        "b learned central's answers through a, and sends nothing again"
    );
    runtime().block_on(b.sync()).unwrap();
    let platform_id = &order.summary.platform_order_id;
    assert_eq!(
        central.event_kinds(platform_id),
        [
            "order_handed_over",
            "order_picked",
            "order_ready",
            "order_staged"
        ]
    );
    assert_eq!(
        central.notifications(platform_id).len(),
        1,
        "the customer was told once"
    );
}

#[test]
fn a_counter_incremented_on_two_devices_adds_up_base_10_plus_1_on_each_merges_to_12() {
    let dir = tempfile::tempdir().unwrap();
    let central = Central::demo(dir.path());
    let a = device(dir.path(), "tablet-1", &central);
    let b = device(dir.path(), "tablet-2", &central);
    let replica_of = |d: &Device| d.data_dir().join("replica.sqlite3");
    let conn = rusqlite_open(&replica_of(&a));
    let (gtin, stock_doc): (String, String) = conn
        .query_row(
            "SELECT s.gtin14, m.value FROM stock s, meta m
             WHERE s.on_hand = 10 AND m.key = 'stock_doc' ORDER BY s.gtin14 LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .expect("the demo stock has a product with 10 on hand");
    drop(conn);

    // A restock is not a workflow step yet: each device records +1 the way one would, as
    // an increment of the product's counter in its own replica.
    for device in [&a, &b] {
        let mut replica = Replica::open(&replica_of(device)).unwrap();
        replica
            .write(|w| {
                let doc = w.doc(&stock_doc)?.expect("the stock document");
                doc.set_actor(automerge::ActorId::random());
                assert_eq!(stock::record_movement(doc, &gtin, 1)?, Some(11));
                doc.commit();
                w.save_doc(&stock_doc).map(drop)
            })
            .unwrap();
    }
    sync_peers(&a, &b);

    assert_same(&a, &b);
    for device in [&a, &b] {
        assert_eq!(
            device.search_products(&gtin).unwrap()[0].on_hand,
            Some(12),
            "both increments count"
        );
    }
}

#[test]
fn a_peer_that_wiped_its_replica_gets_everything_back_in_one_session() {
    let dir = tempfile::tempdir().unwrap();
    let central = Central::demo(dir.path());
    let a = device(dir.path(), "tablet-1", &central);
    let b = device(dir.path(), "tablet-2", &central);
    let queue = a.list_orders(OrderView::Queue).unwrap();
    pick_all(&a, &a.order(&queue[0].id).unwrap());
    a.stage_order(&queue[0].id, "BIN-A01").unwrap();
    pick_all(&b, &b.order(&queue[1].id).unwrap());
    sync_peers(&a, &b);
    let wanted = replicated(&a);
    drop(b);

    // Everything replicated is gone from b; it keeps who it is and what central sent it
    // outside documents (catalogue, associates, cursors). a still holds the sync states
    // saying b has everything.
    let conn = rusqlite::Connection::open(dir.path().join("tablet-2/replica.sqlite3")).unwrap();
    conn.execute_batch(
        "DELETE FROM doc_chunks; DELETE FROM docs; DELETE FROM orders; DELETE FROM order_lines;
         DELETE FROM stock; DELETE FROM outbox; DELETE FROM peer_doc_state; DELETE FROM peers;",
    )
    .unwrap();
    drop(conn);
    let b = Device::open(&dir.path().join("tablet-2")).unwrap();
    assert!(b.list_orders(OrderView::All).unwrap().is_empty());

    let run = peer::exchange(&a, &b).unwrap();
    assert!(run.converged(), "{run:?}");
    assert!(run.frames() <= 8, "bounded: {run:?}");
    assert_eq!(
        replicated(&b),
        wanted,
        "everything came back in one session"
    );
    let again = peer::exchange(&b, &a).unwrap();
    assert_eq!(again.frames(), 2, "nothing left to send: {again:?}");
}
