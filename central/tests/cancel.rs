//! The platform cancels orders: the cancel reaches the feed and wins over later store events,
//! but an order already handed over cannot be cancelled.

use reqwest::StatusCode;
use storehand::contract::{EventBody, FeedBody, FeedItem, OrderFeedPage, Verification};

use crate::support::{STORE, Server, code, demo_order};

#[tokio::test]
async fn a_cancel_is_appended_to_the_feed_and_later_events_on_the_order_are_rejected() {
    let server = Server::demo();
    let device = server.device(STORE, "tablet-1").await;
    let order = demo_order(1);
    let picked_before = device.event(
        &order,
        EventBody::OrderStaged {
            bin: "BIN-A01".into(),
        },
    );
    assert_eq!(device.push_one(&picked_before).await.0, "stored");

    let path = format!("/v1/orders/{order}/cancel");
    let reason = serde_json::json!({ "reason": "customer cancelled online" });
    let (status, item) = server.admin().post_json(&path, &reason).await;
    assert_eq!(status, StatusCode::OK, "{item}");
    let item: FeedItem = serde_json::from_value(item).unwrap();
    let FeedBody::OrderCancelled {
        platform_order_id,
        reason: said,
        cancel_id,
        ..
    } = &item.body
    else {
        panic!("expected order_cancelled, got {item:?}");
    };
    assert_eq!(
        (platform_order_id.as_str(), said.as_str()),
        (order.as_str(), "customer cancelled online")
    );
    assert!(!cancel_id.is_empty());

    let feed: OrderFeedPage = device
        .client
        .get_ok(&format!("/v1/stores/{STORE}/orders/feed?limit=1000"))
        .await;
    assert_eq!(
        feed.items.last(),
        Some(&item),
        "the cancel is the newest feed entry"
    );

    let ready = device.event(&order, EventBody::OrderReady);
    let (status, why) = device.push_one(&ready).await;
    assert_eq!(status, "rejected");
    assert!(why.unwrap().contains("the cancel wins"));

    let (status, body) = server.admin().post_json(&path, &reason).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::CONFLICT, "already_cancelled")
    );
}

#[tokio::test]
async fn an_order_already_handed_over_cannot_be_cancelled_and_the_feed_is_unchanged() {
    let server = Server::demo();
    let device = server.device(STORE, "tablet-1").await;
    let order = demo_order(2);
    let handed = device.event(
        &order,
        EventBody::OrderHandedOver {
            verification: Verification::PickupCode,
            collected_by: None,
        },
    );
    assert_eq!(device.push_one(&handed).await.0, "stored");
    let feed_path = format!("/v1/stores/{STORE}/orders/feed?limit=1000");
    let before: OrderFeedPage = device.client.get_ok(&feed_path).await;

    let reason = serde_json::json!({ "reason": "too late" });
    let (status, body) = server
        .admin()
        .post_json(&format!("/v1/orders/{order}/cancel"), &reason)
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::CONFLICT, "already_handed_over")
    );
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains(&handed.event_id.to_string())
    );

    let after: OrderFeedPage = device.client.get_ok(&feed_path).await;
    assert_eq!(after.items, before.items);
}

#[tokio::test]
async fn cancelling_an_unknown_order_is_404_and_a_blank_reason_is_422() {
    let server = Server::demo();
    let reason = serde_json::json!({ "reason": "gone" });
    let (status, body) = server
        .admin()
        .post_json("/v1/orders/nope/cancel", &reason)
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::NOT_FOUND, "unknown_order")
    );
    let blank = serde_json::json!({ "reason": " " });
    let path = format!("/v1/orders/{}/cancel", demo_order(3));
    let (status, _) = server.admin().post_json(&path, &blank).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, _) = server.anonymous().post_json(&path, &reason).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}
