//! Event intake over HTTP: exactly once, one-shot per order, clear refusals.

use reqwest::StatusCode;
use storehand::contract::{EventBody, PickedLine, Verification};

use crate::support::{STORE, Server, code, demo_order};

#[tokio::test]
async fn an_event_is_stored_once_and_acked_duplicate_when_pushed_again() {
    let server = Server::demo();
    let device = server.device(STORE, "tablet-1").await;
    let order = demo_order(1);
    let staged = device.event(
        &order,
        EventBody::OrderStaged {
            bin: "BIN-A07".into(),
        },
    );

    assert_eq!(device.push_one(&staged).await, ("stored".into(), None));
    let (status, reason) = device.push_one(&staged).await;
    assert_eq!(status, "duplicate");
    assert!(
        reason.unwrap().contains("already stored"),
        "the reason says why"
    );

    let stored = server.events(&order).await;
    assert_eq!(stored.events.len(), 1);
    assert_eq!(
        stored.events[0].event, staged,
        "central keeps the event as sent"
    );
    assert_eq!(stored.events[0].via_device_id, device.credentials.device_id);
}

#[tokio::test]
async fn a_second_different_event_of_a_one_shot_kind_is_a_duplicate_naming_the_first() {
    let server = Server::demo();
    let tablet = server.device(STORE, "tablet-1").await;
    let counter = server.device(STORE, "counter-1").await;
    let order = demo_order(2);
    let first = tablet.event(&order, EventBody::OrderReady);
    let second = counter.event(&order, EventBody::OrderReady);

    assert_eq!(tablet.push_one(&first).await.0, "stored");
    let (status, reason) = counter.push_one(&second).await;
    assert_eq!(status, "duplicate");
    let reason = reason.unwrap();
    assert!(
        reason.contains(&first.event_id.to_string()),
        "names the first: {reason}"
    );

    let stored = server.events(&order).await;
    assert_eq!(stored.events.len(), 1);
    assert_eq!(stored.events[0].event.event_id, first.event_id);
}

#[tokio::test]
async fn the_first_ready_notifies_the_customer_exactly_once() {
    let server = Server::demo();
    let device = server.device(STORE, "tablet-1").await;
    let order = demo_order(3);
    let ready = device.event(&order, EventBody::OrderReady);

    assert!(server.notifications(&order).await.notifications.is_empty());
    assert_eq!(device.push_one(&ready).await.0, "stored");
    assert_eq!(device.push_one(&ready).await.0, "duplicate");
    let again = device.event(&order, EventBody::OrderReady);
    assert_eq!(device.push_one(&again).await.0, "duplicate");

    let notes = server.notifications(&order).await.notifications;
    assert_eq!(notes.len(), 1, "one notification an order");
    assert_eq!(notes[0].event_id, ready.event_id);
    assert_eq!(notes[0].channel, "email");
    let other = demo_order(4);
    assert!(server.notifications(&other).await.notifications.is_empty());
}

#[tokio::test]
async fn events_for_unknown_cancelled_or_foreign_orders_are_rejected_with_the_reason() {
    let server = Server::demo();
    let device = server.device(STORE, "tablet-1").await;

    let unknown = device.event("no-such-order", EventBody::OrderReady);
    let (status, reason) = device.push_one(&unknown).await;
    assert_eq!(status, "rejected");
    assert_eq!(
        reason.unwrap(),
        "there is no order \"no-such-order\" at central"
    );

    // D-10025 is one of the demo's two cancelled orders.
    let cancelled = device.event(&demo_order(25), EventBody::OrderReady);
    let (status, reason) = device.push_one(&cancelled).await;
    assert_eq!(status, "rejected");
    assert!(reason.unwrap().contains("was cancelled by the platform"));

    // A second store, whose device pushes an event about the demo store's order.
    let db = server.db.to_str().unwrap().to_owned();
    crate::support::cli_ok(&[
        "add-store",
        "--db",
        &db,
        "--store",
        "north",
        "--name",
        "North",
    ]);
    let north = server.device("north", "tablet-n").await;
    let foreign = north.event(&demo_order(5), EventBody::OrderReady);
    let (status, reason) = north.push_one(&foreign).await;
    assert_eq!(status, "rejected");
    assert_eq!(
        reason.unwrap(),
        format!("order {} is not an order of store north", demo_order(5))
    );

    let (status, body) = server
        .admin()
        .get("/v1/admin/orders/no-such-order/events")
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::NOT_FOUND, "unknown_order")
    );
    for order in [demo_order(25), demo_order(5)] {
        assert!(
            server.events(&order).await.events.is_empty(),
            "nothing stored for {order}"
        );
    }
}

#[tokio::test]
async fn picked_lines_must_be_the_orders_lines_within_the_ordered_quantity() {
    let server = Server::demo();
    let device = server.device(STORE, "tablet-1").await;
    let order = demo_order(6);
    let feed: storehand::contract::OrderFeedPage = device
        .client
        .get_ok("/v1/stores/demo-store/orders/feed?limit=1000")
        .await;
    let spec = feed
        .items
        .iter()
        .find_map(|item| match &item.body {
            storehand::contract::FeedBody::OrderCreated { order: spec }
                if spec.platform_order_id == order =>
            {
                Some(spec.clone())
            }
            _ => None,
        })
        .expect("the demo order is in the feed");
    let line = &spec.lines[0];
    let pick = |line_id: &str, gtin14: &str, quantity: u32| EventBody::OrderPicked {
        lines: vec![PickedLine {
            line_id: line_id.into(),
            gtin14: gtin14.into(),
            quantity,
        }],
    };

    let over = device.event(&order, pick(&line.line_id, &line.gtin14, line.quantity + 1));
    let (status, reason) = device.push_one(&over).await;
    assert_eq!(status, "rejected");
    assert!(reason.unwrap().contains("put the extra units back"));

    let stranger = device.event(&order, pick("99", &line.gtin14, 1));
    let (status, reason) = device.push_one(&stranger).await;
    assert_eq!(
        (status.as_str(), reason.unwrap()),
        (
            "rejected",
            format!("line 99 is not a line of order {order}")
        )
    );

    let wrong_gtin = device.event(&order, pick(&line.line_id, "04006381333931", 1));
    assert_eq!(device.push_one(&wrong_gtin).await.0, "rejected");

    let partial = device.event(&order, pick(&line.line_id, &line.gtin14, line.quantity));
    let (status, reason) = device.push_one(&partial).await;
    assert_eq!(status, "rejected", "order {order} has more than one line");
    assert!(reason.unwrap().contains("missing or short"));
    let empty = device.event(&order, EventBody::OrderPicked { lines: vec![] });
    assert_eq!(device.push_one(&empty).await.0, "rejected");

    let all = spec
        .lines
        .iter()
        .map(|l| PickedLine {
            line_id: l.line_id.clone(),
            gtin14: l.gtin14.clone(),
            quantity: l.quantity,
        })
        .collect();
    let good = device.event(&order, EventBody::OrderPicked { lines: all });
    assert_eq!(device.push_one(&good).await.0, "stored");
    assert_eq!(
        server.events(&order).await.events.len(),
        1,
        "only the good pick is stored"
    );
}

#[tokio::test]
async fn events_that_are_not_well_formed_are_rejected_each_with_its_reason() {
    let server = Server::demo();
    let device = server.device(STORE, "tablet-1").await;
    let order = demo_order(7);

    let mut v4 = device.event(&order, EventBody::OrderReady);
    v4.event_id = uuid::Uuid::new_v4();
    let (status, reason) = device.push_one(&v4).await;
    assert_eq!(status, "rejected");
    assert!(reason.unwrap().ends_with("event ids must be UUIDv7"));

    let mut late = device.event(&order, EventBody::OrderReady);
    late.occurred_at = "yesterday".into();
    let (status, reason) = device.push_one(&late).await;
    assert_eq!(status, "rejected");
    assert!(reason.unwrap().starts_with("occurred_at:"));

    let mut elsewhere = device.event(&order, EventBody::OrderReady);
    elsewhere.store_id = "north".into();
    let (status, reason) = device.push_one(&elsewhere).await;
    assert_eq!(status, "rejected");
    assert_eq!(
        reason.unwrap(),
        "the event names store \"north\" but was sent to store \"demo-store\""
    );

    let unnamed = device.event(
        &order,
        EventBody::OrderHandedOver {
            verification: Verification::PhotoId,
            collected_by: Some("  ".into()),
        },
    );
    assert_eq!(device.push_one(&unnamed).await.0, "rejected");

    let mut future = device.event(&order, EventBody::OrderReady);
    future.occurred_at = "9999-12-31T23:59:59Z".into();
    let (status, reason) = device.push_one(&future).await;
    assert_eq!(status, "rejected");
    assert!(reason.unwrap().contains("ahead of central's clock"));

    let mut stranger = device.event(&order, EventBody::OrderReady);
    stranger.associate_id = "nobody".into();
    let (status, reason) = device.push_one(&stranger).await;
    assert_eq!(status, "rejected");
    assert_eq!(
        reason.unwrap(),
        "\"nobody\" is not an associate of store demo-store"
    );

    let mut ghost = device.event(&order, EventBody::OrderReady);
    ghost.device_id = uuid::Uuid::now_v7();
    let (status, reason) = device.push_one(&ghost).await;
    assert_eq!(status, "rejected");
    assert!(
        reason
            .unwrap()
            .ends_with("is not enrolled in store demo-store")
    );
    assert!(server.events(&order).await.events.is_empty());
}

#[tokio::test]
async fn a_batch_is_acked_in_order_and_a_repeat_inside_it_is_a_duplicate() {
    let server = Server::demo();
    let device = server.device(STORE, "tablet-1").await;
    let staged = device.event(
        &demo_order(8),
        EventBody::OrderStaged {
            bin: "BIN-B01".into(),
        },
    );
    let ready = device.event(&demo_order(8), EventBody::OrderReady);
    let unknown = device.event("nope", EventBody::OrderReady);

    let batch = [
        staged.clone(),
        ready.clone(),
        staged.clone(),
        unknown.clone(),
    ];
    let (status, body) = device.push(&batch).await;
    assert_eq!(status, StatusCode::OK);
    let acks: Vec<(String, String)> = body["acks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["event_id"].as_str().unwrap().to_owned(),
                a["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let expected = [
        (staged.event_id, "stored"),
        (ready.event_id, "stored"),
        (staged.event_id, "duplicate"),
        (unknown.event_id, "rejected"),
    ];
    let expected: Vec<(String, String)> = expected
        .iter()
        .map(|(id, s)| (id.to_string(), (*s).to_owned()))
        .collect();
    assert_eq!(acks, expected);
}

#[tokio::test]
async fn missing_and_unknown_tokens_get_401_and_another_stores_token_gets_403() {
    let server = Server::demo();
    let path = "/v1/stores/demo-store/orders/feed";

    let (status, body) = server.anonymous().get(path).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNAUTHORIZED, "unauthenticated")
    );
    let mut forged = server.anonymous();
    forged.token = Some("shd1_0000".into());
    let (status, body) = forged.get(path).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNAUTHORIZED, "unauthenticated")
    );
    let (status, _) = forged.get("/v1/catalogue").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    let db = server.db.to_str().unwrap().to_owned();
    crate::support::cli_ok(&[
        "add-store",
        "--db",
        &db,
        "--store",
        "north",
        "--name",
        "North",
    ]);
    let north = server.device("north", "tablet-n").await;
    let (status, body) = north.client.get(path).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::FORBIDDEN, "wrong_store")
    );
    let event = north.event(&demo_order(1), EventBody::OrderReady);
    let (status, _) = north.push_to(STORE, &[event]).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(server.events(&demo_order(1)).await.events.is_empty());

    let (status, body) = server.anonymous().get("/v1/health").await;
    assert_eq!(status, StatusCode::OK, "health needs no token");
    assert_eq!(body["contract_version"], 1);
}

#[tokio::test]
async fn an_enrollment_code_enrols_one_device_and_wrong_used_or_unnamed_ones_are_refused() {
    let server = Server::demo();
    let issued = server.enrollment_code(STORE).await;
    let enrol = |code: &str, name: &str| serde_json::json!({ "code": code, "device_name": name });

    let (status, answer) = server
        .anonymous()
        .post_json("/v1/enroll", &enrol("ACDE-FGHJ-KMNP", "t"))
        .await;
    assert_eq!(
        (status, code(&answer)),
        (StatusCode::NOT_FOUND, "unknown_enrollment_code")
    );
    let (status, _) = server
        .anonymous()
        .post_json("/v1/enroll", &enrol(&issued, ""))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

    let (status, grant) = server
        .anonymous()
        .post_json("/v1/enroll", &enrol(&issued, "tablet-1"))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{grant}");
    assert_eq!(grant["store_id"], STORE);
    assert_eq!(grant["sync_key"].as_str().unwrap().len(), 64);
    let (status, answer) = server
        .anonymous()
        .post_json("/v1/enroll", &enrol(&issued, "tablet-2"))
        .await;
    assert_eq!(
        (status, code(&answer)),
        (StatusCode::CONFLICT, "enrollment_code_used")
    );

    let path = "/v1/stores/nowhere/enrollment-codes";
    let (status, answer) = server.admin().post_json(path, &serde_json::json!({})).await;
    assert_eq!(
        (status, code(&answer)),
        (StatusCode::NOT_FOUND, "unknown_store")
    );
    let path = format!("/v1/stores/{STORE}/enrollment-codes");
    let (status, _) = server
        .anonymous()
        .post_json(&path, &serde_json::json!({}))
        .await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "only the platform issues codes"
    );
}

#[tokio::test]
async fn a_malformed_batch_is_400_with_an_error_body_and_stores_nothing() {
    let server = Server::demo();
    let device = server.device(STORE, "tablet-1").await;
    let path = "/v1/stores/demo-store/events";
    let good = device.event(&demo_order(9), EventBody::OrderReady);
    let good_json = serde_json::to_string(&good).unwrap();

    // A valid event followed by one of a kind the contract does not have.
    let mixed = format!(
        r#"{{"events": [{good_json}, {{"event_id": "{}", "type": "order_teleported"}}]}}"#,
        uuid::Uuid::now_v7()
    );
    for body in [
        "{\"events\": [".to_owned(),
        "not json".into(),
        "{}".into(),
        mixed,
    ] {
        let (status, answer) = device.client.post_raw(path, body.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(code(&answer), "malformed_json");
        assert!(
            answer["message"]
                .as_str()
                .unwrap()
                .starts_with("the body is not a valid EventBatch")
        );
    }
    assert!(
        server.events(&demo_order(9)).await.events.is_empty(),
        "nothing was stored"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_devices_pushing_the_same_event_at_the_same_moment_store_it_once() {
    let server = Server::demo();
    let tablet = server.device(STORE, "tablet-1").await;
    let counter = server.device(STORE, "counter-1").await;
    for n in 1..=12 {
        let order = demo_order(n);
        let ready = tablet.event(&order, EventBody::OrderReady);
        let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(2));
        let push = |device: &crate::support::Device| {
            let client = device.client.clone();
            let ready = ready.clone();
            let barrier = std::sync::Arc::clone(&barrier);
            tokio::spawn(async move {
                let batch = storehand::contract::EventBatch {
                    events: vec![ready],
                };
                barrier.wait().await;
                client
                    .post_json("/v1/stores/demo-store/events", &batch)
                    .await
            })
        };
        let (a, b) = (push(&tablet), push(&counter));
        let (a, b) = (a.await.unwrap(), b.await.unwrap());
        let mut statuses = [
            a.1["acks"][0]["status"].clone(),
            b.1["acks"][0]["status"].clone(),
        ];
        statuses.sort_by_key(|s| s.to_string());
        assert_eq!(statuses, ["duplicate", "stored"], "order {order}");
        assert_eq!(server.events(&order).await.events.len(), 1, "order {order}");
        assert_eq!(server.notifications(&order).await.notifications.len(), 1);
    }
}
