//! The order and catalogue feeds, read with cursors, and orders the platform creates.

use std::collections::HashSet;

use reqwest::StatusCode;
use storehand::contract::{
    CataloguePage, FeedBody, FeedItem, Fulfilment, OrderFeedPage, OrderLineSpec, OrderSpec,
    StockSnapshot,
};
use storehand_central::pickup::PickupCode;

use crate::support::{Client, STORE, Server, code};

async fn whole_feed(client: &Client, after: u64, limit: u32) -> (Vec<FeedItem>, u64) {
    let mut items = Vec::new();
    let mut cursor = after;
    loop {
        let path = format!("/v1/stores/{STORE}/orders/feed?after={cursor}&limit={limit}");
        let page: OrderFeedPage = client.get_ok(&path).await;
        assert!(page.items.len() <= limit as usize);
        if page.items.is_empty() {
            assert_eq!(page.next_cursor, cursor, "an empty page keeps the cursor");
            return (items, cursor);
        }
        assert_eq!(page.next_cursor, page.items.last().unwrap().seq);
        cursor = page.next_cursor;
        items.extend(page.items);
    }
}

fn new_order(id: &str, gtin14: &str) -> OrderSpec {
    OrderSpec {
        platform_order_id: id.into(),
        order_number: format!("W-{id}"),
        store_id: STORE.into(),
        fulfilment: Fulfilment::Bopis,
        customer_name: "Test Customer".into(),
        pickup_code: PickupCode::derive(id).to_string(),
        placed_at: "2026-12-01T17:00:00Z".into(),
        lines: vec![OrderLineSpec {
            line_id: "1".into(),
            gtin14: gtin14.into(),
            name: "Something".into(),
            quantity: 1,
        }],
    }
}

#[tokio::test]
async fn the_order_feed_pages_by_cursor_in_strictly_increasing_order_to_its_end() {
    let server = Server::demo();
    let device = server.device(STORE, "tablet-1").await;
    let (items, end) = whole_feed(&device.client, 0, 5).await;

    assert_eq!(items.len(), 28, "26 demo orders created and 2 cancelled");
    assert!(
        items.windows(2).all(|w| w[0].seq < w[1].seq),
        "strictly increasing"
    );
    let ids: HashSet<u64> = items.iter().map(|i| i.seq).collect();
    assert_eq!(ids.len(), items.len());
    let cancelled = items
        .iter()
        .filter(|i| matches!(i.body, FeedBody::OrderCancelled { .. }));
    assert_eq!(cancelled.count(), 2);

    let (all_at_once, same_end) = whole_feed(&device.client, 0, 1000).await;
    assert_eq!(all_at_once, items, "page size does not change the feed");
    assert_eq!(same_end, end);

    let (from_middle, _) = whole_feed(&device.client, items[9].seq, 7).await;
    assert_eq!(
        from_middle,
        items[10..],
        "a cursor resumes right after itself"
    );
}

#[tokio::test]
async fn bad_feed_queries_are_400_with_the_reason() {
    let server = Server::demo();
    let device = server.device(STORE, "tablet-1").await;
    for query in ["limit=0", "limit=1001", "after=-3", "after=x", "cursor=4"] {
        let (status, body) = device
            .client
            .get(&format!("/v1/stores/{STORE}/orders/feed?{query}"))
            .await;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::BAD_REQUEST, "bad_query"),
            "{query}"
        );
        let (status, _) = device.client.get(&format!("/v1/catalogue?{query}")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}");
    }
}

#[tokio::test]
async fn the_catalogue_feed_pages_to_done_and_the_stock_snapshot_covers_it() {
    let server = Server::demo();
    let device = server.device(STORE, "tablet-1").await;
    let mut cursor = 0;
    let mut gtins = Vec::new();
    loop {
        let page: CataloguePage = device
            .client
            .get_ok(&format!("/v1/catalogue?after={cursor}&limit=400"))
            .await;
        gtins.extend(page.items.iter().map(|p| p.gtin14.clone()));
        cursor = page.next_cursor;
        if page.done {
            break;
        }
        assert_eq!(page.items.len(), 400, "only the last page is short");
    }
    assert_eq!(gtins.len(), 1500);
    let stock: StockSnapshot = device
        .client
        .get_ok(&format!("/v1/stores/{STORE}/stock"))
        .await;
    assert!(!stock.epoch.is_empty());
    let stocked: HashSet<&str> = stock.levels.iter().map(|l| l.gtin14.as_str()).collect();
    assert!(
        gtins.iter().all(|g| stocked.contains(g.as_str())),
        "every product has a level"
    );

    let after_end: CataloguePage = device
        .client
        .get_ok(&format!("/v1/catalogue?after={cursor}"))
        .await;
    assert!(after_end.items.is_empty() && after_end.done);
    assert_eq!(after_end.next_cursor, cursor);
}

#[tokio::test]
async fn a_platform_order_is_appended_to_the_feed_and_bad_ones_change_nothing() {
    let server = Server::demo();
    let device = server.device(STORE, "tablet-1").await;
    let admin = server.admin();
    let (before, end) = whole_feed(&device.client, 0, 1000).await;
    let gtin14 = "00009542012502"; // a product of the demo sample

    let order = new_order("web-1", gtin14);
    let (status, created) = admin.post_json("/v1/orders", &order).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let created: FeedItem = serde_json::from_value(created).unwrap();
    assert!(created.seq > end);
    let (news, _) = whole_feed(&device.client, end, 1000).await;
    assert_eq!(news, std::slice::from_ref(&created));
    assert_eq!(
        news[0].body,
        FeedBody::OrderCreated {
            order: order.clone()
        }
    );

    let mut bad_gtin = new_order("web-2", gtin14);
    bad_gtin.lines[0].gtin14 = "00009542012503".into();
    let mut zero = new_order("web-3", gtin14);
    zero.lines[0].quantity = 0;
    let mut nowhere = new_order("web-4", gtin14);
    nowhere.store_id = "nowhere".into();
    let refusals = [
        (bad_gtin, StatusCode::UNPROCESSABLE_ENTITY, "invalid_gtin"),
        (zero, StatusCode::UNPROCESSABLE_ENTITY, "invalid_quantity"),
        (nowhere, StatusCode::UNPROCESSABLE_ENTITY, "unknown_store"),
        (order.clone(), StatusCode::CONFLICT, "duplicate_order"),
    ];
    for (spec, expected_status, expected_code) in refusals {
        let (status, body) = admin.post_json("/v1/orders", &spec).await;
        assert_eq!(
            (status, code(&body)),
            (expected_status, expected_code),
            "{body}"
        );
        assert!(!body["message"].as_str().unwrap().is_empty());
    }
    let (status, body) = admin
        .post_raw("/v1/orders", "{\"platform_order_id\": 7}".into())
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::BAD_REQUEST, "malformed_json")
    );
    let (status, _) = device
        .client
        .post_json("/v1/orders", &new_order("web-5", gtin14))
        .await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "devices cannot create orders"
    );

    let (after, _) = whole_feed(&device.client, 0, 1000).await;
    assert_eq!(
        after.len(),
        before.len() + 1,
        "only the good order was appended"
    );
}

#[tokio::test]
async fn without_an_admin_token_the_platform_endpoints_answer_403() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("central.sqlite3");
    crate::support::cli_ok(&["seed-demo", "--db", db.to_str().unwrap()]);
    let server = Server::start(&db, None);
    let mut client = server.anonymous();
    client.token = Some("anything-at-all".into());
    let (status, body) = client
        .post_json("/v1/orders", &new_order("web-1", "00009542012502"))
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::FORBIDDEN, "admin_disabled")
    );
    assert!(body["message"].as_str().unwrap().contains("--admin-token"));
    let (status, _) = client
        .get("/v1/admin/orders/demo-store-D-10001/events")
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}
