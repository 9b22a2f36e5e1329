//! The HTTP API: the store contract of `storehand::contract` (`/v1/...`), the platform's order
//! endpoints and the admin endpoints tests use.
//!
//! - `GET /v1/health`: anyone; `Health`.
//! - `POST /v1/enroll`: anyone holding an enrollment code; `Enrollment` in, 201
//!   `EnrollmentGrant` out.
//! - `POST /v1/stores/{store}/enrollment-codes`: admin; `EnrollmentCodeRequest` in, 201
//!   `EnrollmentCode` out.
//! - `GET /v1/catalogue?after=N&limit=M`: any device; `CataloguePage`.
//! - `GET /v1/stores/{store}/associates`, `.../stock`, `.../orders/feed?after=N&limit=M`: the
//!   store's devices; `AssociateList`, `StockSnapshot`, `OrderFeedPage`.
//! - `POST /v1/stores/{store}/events`: the store's devices; `EventBatch` in (at most
//!   [`events::MAX_BATCH`] events), `EventBatchResponse` out.
//! - `POST /v1/orders`: admin; `OrderSpec` in, 201 `FeedItem` out.
//! - `POST /v1/orders/{id}/cancel`: admin; `CancelRequest` in, `FeedItem` out.
//! - `GET /v1/admin/orders/{id}/events`: admin; [`OrderEvents`].
//! - `GET /v1/admin/orders/{id}/notifications`: admin; [`OrderNotifications`].
//! - `POST /v1/admin/faults`: admin; [`FaultPlan`] in, [`ArmedFaults`] out.
//!
//! Every refusal is a non-2xx status with the contract's `ErrorBody`: 400 unreadable input,
//! 401 no or unknown token, 403 a token for another store (or admin endpoints on a server
//! started without an admin token), 404 unknown store, order or endpoint, 409 conflicts, 413
//! too large, 422 invalid content, 500 a failure of central itself. `limit` is 1 to 1000
//! (default 100).

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use serde::de::DeserializeOwned;
use storehand::contract::{
    CONTRACT_VERSION, CancelRequest, Enrollment, EnrollmentCodeRequest, ErrorBody, EventBatch,
    Health, OrderSpec,
};
use tokio::sync::Notify;

use crate::admin::{ArmedFaults, FaultPlan, OrderEvents, OrderNotifications};
use crate::catalogue::{self, MAX_PAGE};
use crate::db::Db;
use crate::devices::{self, DeviceIdentity};
use crate::error::{Error, Refusal, Result};
use crate::{enrollment, events, orders, stores};
use storehand::time;

/// The largest request body central reads.
pub const MAX_BODY: usize = 8 * 1024 * 1024;
/// Items a feed page holds when the request names no `limit`.
pub const DEFAULT_PAGE: u32 = 100;

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    /// The admin token's hash; `None` disables the platform and admin endpoints.
    pub admin_token_hash: Option<String>,
    pub faults: Arc<Faults>,
}

/// Faults armed by `POST /v1/admin/faults`.
#[derive(Debug, Default)]
pub struct Faults {
    drop_event_responses: AtomicU32,
}

impl Faults {
    fn arm(&self, plan: FaultPlan) -> ArmedFaults {
        self.drop_event_responses
            .store(plan.drop_event_responses, Ordering::SeqCst);
        ArmedFaults {
            drop_event_responses: plan.drop_event_responses,
        }
    }

    /// Takes one armed response drop, if any is left.
    fn take_drop(&self) -> bool {
        self.drop_event_responses
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok()
    }
}

/// The server puts one of these in every request: notifying it closes the request's
/// connection at once, without a response.
#[derive(Clone)]
pub struct ConnectionKill(pub Arc<Notify>);

/// The router of the whole API.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/v1/health", get(health))
        .route("/v1/enroll", post(enrol))
        .route(
            "/v1/stores/{store}/enrollment-codes",
            post(issue_enrollment_code),
        )
        .route("/v1/catalogue", get(catalogue_page))
        .route("/v1/stores/{store}/associates", get(associates))
        .route("/v1/stores/{store}/stock", get(stock))
        .route("/v1/stores/{store}/orders/feed", get(order_feed))
        .route("/v1/stores/{store}/events", post(push_events))
        .route("/v1/orders", post(create_order))
        .route("/v1/orders/{id}/cancel", post(cancel_order))
        .route("/v1/admin/orders/{id}/events", get(order_events))
        .route(
            "/v1/admin/orders/{id}/notifications",
            get(order_notifications),
        )
        .route("/v1/admin/faults", post(arm_faults))
        .fallback(no_such_endpoint)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(state)
}

/// An error on its way out as an HTTP answer.
pub struct ApiError(Error);

impl From<Error> for ApiError {
    fn from(err: Error) -> ApiError {
        ApiError(err)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code, message) = match self.0 {
            Error::Refused {
                kind,
                code,
                message,
            } => {
                let status = match kind {
                    Refusal::BadRequest => StatusCode::BAD_REQUEST,
                    Refusal::Unauthenticated => StatusCode::UNAUTHORIZED,
                    Refusal::Forbidden => StatusCode::FORBIDDEN,
                    Refusal::NotFound => StatusCode::NOT_FOUND,
                    Refusal::Conflict => StatusCode::CONFLICT,
                    Refusal::Invalid => StatusCode::UNPROCESSABLE_ENTITY,
                    Refusal::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
                };
                (status, code, message)
            }
            other => {
                tracing::error!(err = %other, "request failed inside central");
                let message =
                    format!("central failed to handle this request ({other}); retry later");
                (StatusCode::INTERNAL_SERVER_ERROR, "internal", message)
            }
        };
        let body = Json(ErrorBody {
            code: code.to_owned(),
            message,
        });
        if status == StatusCode::UNAUTHORIZED {
            return (status, [(header::WWW_AUTHENTICATE, "Bearer")], body).into_response();
        }
        (status, body).into_response()
    }
}

type Answer<T> = std::result::Result<T, ApiError>;

fn unauthenticated(message: &str) -> Error {
    Error::refused(Refusal::Unauthenticated, "unauthenticated", message)
}

/// The bearer token of a request.
fn bearer(headers: &HeaderMap) -> Result<&str> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Err(unauthenticated(
            "this endpoint needs 'Authorization: Bearer <token>'; enrol the device first",
        ));
    };
    let token = value
        .to_str()
        .ok()
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty());
    token.ok_or_else(|| unauthenticated("the Authorization header must be 'Bearer <token>'"))
}

/// The device a request comes from.
async fn device(state: &AppState, headers: &HeaderMap) -> Result<DeviceIdentity> {
    let token = bearer(headers)?.to_owned();
    let found = state
        .db
        .call(move |conn| devices::authenticate(conn, &token))
        .await?;
    found.ok_or_else(|| {
        tracing::warn!("request with an unknown device token");
        unauthenticated("central never issued this token; enrol the device again")
    })
}

/// The device a request comes from, which must belong to `store`.
async fn store_device(
    state: &AppState,
    headers: &HeaderMap,
    store: &str,
) -> Result<DeviceIdentity> {
    let device = device(state, headers).await?;
    if device.store_id != store {
        tracing::warn!(
            device = %device.device_id,
            token_store = %device.store_id,
            path_store = store,
            "token used on another store"
        );
        return Err(Error::refused(
            Refusal::Forbidden,
            "wrong_store",
            format!(
                "this device is enrolled with store {}, not {store}; use that store's paths",
                device.store_id
            ),
        ));
    }
    Ok(device)
}

/// Fails unless the request carries the admin token.
fn admin(state: &AppState, headers: &HeaderMap) -> Result<()> {
    let Some(expected) = &state.admin_token_hash else {
        return Err(Error::refused(
            Refusal::Forbidden,
            "admin_disabled",
            "platform and admin endpoints are off: start the server with --admin-token",
        ));
    };
    let token = bearer(headers)?;
    if devices::secret_hash(token) != *expected {
        tracing::warn!("request with a wrong admin token");
        return Err(unauthenticated("that is not the admin token"));
    }
    Ok(())
}

/// The JSON body of a request as a `T`.
fn json_body<T: DeserializeOwned>(
    body: std::result::Result<Bytes, BytesRejection>,
    what: &str,
) -> Result<T> {
    let bytes = body.map_err(|rejection| {
        let kind = if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            Refusal::TooLarge
        } else {
            Refusal::BadRequest
        };
        Error::refused(
            kind,
            "unreadable_body",
            format!("the request body could not be read: {rejection}"),
        )
    })?;
    serde_json::from_slice(&bytes).map_err(|e| {
        // The error's text can quote the offending value (a name, say), so only its kind and
        // position are logged; the sender gets the whole message.
        let (kind, line, column) = (format!("{:?}", e.classify()), e.line(), e.column());
        tracing::warn!(what, kind, line, column, "malformed request body");
        Error::bad_request(
            "malformed_json",
            format!("the body is not a valid {what}: {e}"),
        )
    })
}

/// `after` and `limit` of a feed request.
fn page_query(raw: Option<&str>) -> Result<(u64, u32)> {
    let mut after = 0u64;
    let mut limit = DEFAULT_PAGE;
    for pair in raw.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let bad =
            |what: &str| Error::bad_request("bad_query", format!("{key}={value:?} is not {what}"));
        match key {
            "after" => {
                after = value
                    .parse()
                    .map_err(|_| bad("a cursor (a whole number ≥ 0)"))?
            }
            "limit" => {
                limit = value.parse().map_err(|_| bad("a whole number"))?;
                if !(1..=MAX_PAGE).contains(&limit) {
                    return Err(Error::bad_request(
                        "bad_query",
                        format!("limit must be 1 to {MAX_PAGE}, not {limit}"),
                    ));
                }
            }
            other => {
                return Err(Error::bad_request(
                    "bad_query",
                    format!("unknown query parameter {other:?}; use after and limit"),
                ));
            }
        }
    }
    Ok((after, limit))
}

async fn health() -> Json<Health> {
    Json(Health {
        contract_version: CONTRACT_VERSION,
        service: "storehand-central".into(),
    })
}

#[tracing::instrument(skip_all)]
async fn enrol(
    State(state): State<AppState>,
    body: std::result::Result<Bytes, BytesRejection>,
) -> Answer<impl IntoResponse> {
    let enrollment: Enrollment = json_body(body, "Enrollment")?;
    let grant = state
        .db
        .write(move |tx| enrollment::enrol(tx, &enrollment))
        .await?;
    Ok((StatusCode::CREATED, Json(grant)))
}

#[tracing::instrument(skip_all, fields(%store))]
async fn issue_enrollment_code(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(store): Path<String>,
    body: std::result::Result<Bytes, BytesRejection>,
) -> Answer<impl IntoResponse> {
    admin(&state, &headers)?;
    let request: EnrollmentCodeRequest = json_body(body, "EnrollmentCodeRequest")?;
    let code = state
        .db
        .write(move |tx| enrollment::issue(tx, &store, request.valid_minutes))
        .await?;
    Ok((StatusCode::CREATED, Json(code)))
}

async fn catalogue_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Answer<impl IntoResponse> {
    device(&state, &headers).await?;
    let (after, limit) = page_query(query.as_deref())?;
    Ok(Json(
        state
            .db
            .call(move |conn| catalogue::page(conn, after, limit))
            .await?,
    ))
}

async fn associates(
    State(state): State<AppState>,
    Path(store): Path<String>,
    headers: HeaderMap,
) -> Answer<impl IntoResponse> {
    store_device(&state, &headers, &store).await?;
    Ok(Json(
        state
            .db
            .call(move |conn| stores::associates(conn, &store))
            .await?,
    ))
}

async fn stock(
    State(state): State<AppState>,
    Path(store): Path<String>,
    headers: HeaderMap,
) -> Answer<impl IntoResponse> {
    store_device(&state, &headers, &store).await?;
    Ok(Json(
        state
            .db
            .call(move |conn| stores::stock(conn, &store))
            .await?,
    ))
}

async fn order_feed(
    State(state): State<AppState>,
    Path(store): Path<String>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Answer<impl IntoResponse> {
    store_device(&state, &headers, &store).await?;
    let (after, limit) = page_query(query.as_deref())?;
    Ok(Json(
        state
            .db
            .call(move |conn| orders::feed_page(conn, &store, after, limit))
            .await?,
    ))
}

#[tracing::instrument(skip_all, fields(%store))]
async fn push_events(
    State(state): State<AppState>,
    Path(store): Path<String>,
    kill: Option<Extension<ConnectionKill>>,
    headers: HeaderMap,
    body: std::result::Result<Bytes, BytesRejection>,
) -> Answer<Response> {
    let device = store_device(&state, &headers, &store).await?;
    let batch: EventBatch = json_body(body, "EventBatch")?;
    let count = batch.events.len();
    let response = state
        .db
        .write(move |tx| events::intake(tx, &store, &device, &batch))
        .await?;

    // Fault injection: the batch is committed; now lose the answer, as a network would.
    if let Some(Extension(ConnectionKill(kill))) = kill
        && state.faults.take_drop()
    {
        tracing::warn!(
            events = count,
            "fault injection: dropping the connection instead of answering"
        );
        kill.notify_one();
        std::future::pending::<()>().await;
    }
    Ok(Json(response).into_response())
}

#[tracing::instrument(skip_all)]
async fn create_order(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: std::result::Result<Bytes, BytesRejection>,
) -> Answer<impl IntoResponse> {
    admin(&state, &headers)?;
    let spec: OrderSpec = json_body(body, "OrderSpec")?;
    let item = state.db.write(move |tx| orders::create(tx, &spec)).await?;
    Ok((StatusCode::CREATED, Json(item)))
}

#[tracing::instrument(skip_all, fields(order = %id))]
async fn cancel_order(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: std::result::Result<Bytes, BytesRejection>,
) -> Answer<impl IntoResponse> {
    admin(&state, &headers)?;
    let request: CancelRequest = json_body(body, "CancelRequest")?;
    let item = state
        .db
        .write(move |tx| {
            let cancel_id = uuid::Uuid::now_v7().to_string();
            let at = time::now_rfc3339();
            let cancellation = orders::Cancellation {
                platform_order_id: &id,
                cancel_id: &cancel_id,
                reason: &request.reason,
                at: &at,
            };
            orders::cancel(tx, &cancellation)
        })
        .await?;
    Ok(Json(item))
}

async fn order_events(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Answer<Json<OrderEvents>> {
    admin(&state, &headers)?;
    Ok(Json(
        state
            .db
            .call(move |conn| events::of_order(conn, &id))
            .await?,
    ))
}

async fn order_notifications(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Answer<Json<OrderNotifications>> {
    admin(&state, &headers)?;
    Ok(Json(
        state
            .db
            .call(move |conn| events::notifications_of_order(conn, &id))
            .await?,
    ))
}

#[tracing::instrument(skip_all)]
async fn arm_faults(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: std::result::Result<Bytes, BytesRejection>,
) -> Answer<Json<ArmedFaults>> {
    admin(&state, &headers)?;
    let plan: FaultPlan = json_body(body, "FaultPlan")?;
    tracing::warn!(
        drop_event_responses = plan.drop_event_responses,
        "fault injection armed"
    );
    Ok(Json(state.faults.arm(plan)))
}

async fn no_such_endpoint() -> ApiError {
    ApiError(Error::not_found(
        "no_such_endpoint",
        "there is no such endpoint; see /v1 in the store contract",
    ))
}

async fn method_not_allowed() -> Response {
    let body = ErrorBody {
        code: "method_not_allowed".into(),
        message: "this endpoint does not take that HTTP method".into(),
    };
    (StatusCode::METHOD_NOT_ALLOWED, Json(body)).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_queries_default_and_refuse_bad_values_with_the_reason() {
        assert_eq!(page_query(None).unwrap(), (0, DEFAULT_PAGE));
        assert_eq!(page_query(Some("after=7&limit=1000")).unwrap(), (7, 1000));
        let message = |q: &str| page_query(Some(q)).unwrap_err().to_string();
        assert_eq!(message("limit=1001"), "limit must be 1 to 1000, not 1001");
        assert_eq!(message("limit=0"), "limit must be 1 to 1000, not 0");
        assert_eq!(
            message("after=-1"),
            "after=\"-1\" is not a cursor (a whole number ≥ 0)"
        );
        assert_eq!(
            message("page=2"),
            "unknown query parameter \"page\"; use after and limit"
        );
    }

    #[test]
    fn an_armed_drop_is_taken_once_per_count() {
        let faults = Faults::default();
        assert!(!faults.take_drop());
        faults.arm(FaultPlan {
            drop_event_responses: 2,
        });
        assert!(faults.take_drop() && faults.take_drop());
        assert!(!faults.take_drop());
    }
}
