//! The dropped-response fault: central stores a batch and then loses its answer, as a network
//! would; the device's retry must be acknowledged as a duplicate.

use reqwest::StatusCode;
use storehand::contract::{EventBatch, EventBody};

use crate::support::{STORE, Server, code, demo_order};

#[tokio::test]
async fn a_dropped_response_leaves_the_batch_stored_and_the_retry_is_acked_duplicate() {
    let server = Server::demo();
    let device = server.device(STORE, "tablet-1").await;
    let order = demo_order(1);
    let staged = device.event(
        &order,
        EventBody::OrderStaged {
            bin: "BIN-C03".into(),
        },
    );
    let ready = device.event(&order, EventBody::OrderReady);
    let batch = EventBatch {
        events: vec![staged.clone(), ready.clone()],
    };

    let plan = serde_json::json!({ "drop_event_responses": 1 });
    let (status, armed) = server.admin().post_json("/v1/admin/faults", &plan).await;
    assert_eq!(status, StatusCode::OK, "{armed}");
    assert_eq!(armed["drop_event_responses"], 1);

    let url = format!("{}/v1/stores/{STORE}/events", server.url);
    let token = device.credentials.token.clone();
    let lost = device
        .client
        .http
        .post(&url)
        .bearer_auth(&token)
        .json(&batch)
        .send()
        .await;
    let err = lost.expect_err("the connection must break without any HTTP response");
    assert!(
        !err.is_status() && !err.is_timeout(),
        "a broken connection, not {err:?}"
    );

    let stored = server.events(&order).await.events;
    assert_eq!(
        stored.len(),
        2,
        "the batch was committed before the connection dropped"
    );
    assert_eq!(server.notifications(&order).await.notifications.len(), 1);

    let retry = reqwest::Client::new()
        .post(&url)
        .bearer_auth(&token)
        .json(&batch)
        .send()
        .await;
    let retry = retry.expect("the next batch is answered: one fault was armed");
    assert_eq!(retry.status(), StatusCode::OK);
    let body: serde_json::Value = retry.json().await.unwrap();
    assert_eq!(body["acks"][0]["status"], "duplicate");
    assert_eq!(body["acks"][1]["status"], "duplicate");
    assert_eq!(
        server.events(&order).await.events.len(),
        2,
        "nothing stored twice"
    );
    assert_eq!(server.notifications(&order).await.notifications.len(), 1);
}

#[tokio::test]
async fn arming_faults_needs_the_admin_token_and_a_well_formed_plan() {
    let server = Server::demo();
    let plan = serde_json::json!({ "drop_event_responses": 1 });
    let (status, body) = server
        .anonymous()
        .post_json("/v1/admin/faults", &plan)
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNAUTHORIZED, "unauthenticated")
    );
    let device = server.device(STORE, "tablet-1").await;
    let (status, _) = device.client.post_json("/v1/admin/faults", &plan).await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "a device token is not the admin token"
    );

    let typo = serde_json::json!({ "drop_event_response": 1 });
    let (status, body) = server.admin().post_json("/v1/admin/faults", &typo).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::BAD_REQUEST, "malformed_json")
    );

    // Nothing was armed: a push is answered.
    let ready = device.event(&demo_order(2), EventBody::OrderReady);
    assert_eq!(device.push_one(&ready).await.0, "stored");
}
