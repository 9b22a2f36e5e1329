//! The device's client of central: the store contract over HTTP.
//!
//! Every request has a deadline, so nothing waits forever on the network; a failure is an
//! [`Error::Central`] whose message says what happened, and the caller keeps working offline.

use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::contract::{
    AssociateList, CataloguePage, Enrollment, EnrollmentGrant, ErrorBody, EventBatch,
    EventBatchResponse, OrderFeedPage, StockSnapshot,
};
use crate::error::{Error, Result};

const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(20);

#[derive(Clone)]
pub struct Central {
    base: String,
    store_id: String,
    token: Option<String>,
    client: reqwest::Client,
}

impl Central {
    /// A client of the central at `base_url` for `store_id`; `token` is the device's credential
    /// (absent only to enrol).
    ///
    /// # Failure
    /// A refusal when `base_url` is not an `http://` or `https://` URL.
    pub fn new(base_url: &str, store_id: &str, token: Option<String>) -> Result<Central> {
        let base = base_url.trim().trim_end_matches('/').to_owned();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(Error::refused(
                crate::api::ErrorCode::Invalid,
                format!("{base_url:?} is not a central URL; give one like http://127.0.0.1:8080"),
            ));
        }
        let client = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(REQUEST_TIMEOUT)
            .build()
            .map_err(|e| Error::Central(format!("cannot build an HTTP client: {e}")))?;
        Ok(Central {
            base,
            store_id: store_id.to_owned(),
            token,
            client,
        })
    }

    pub fn base_url(&self) -> &str {
        &self.base
    }

    /// Enrols this device with a one-time code; needs no token.
    pub async fn enrol(&self, code: &str, device_name: &str) -> Result<EnrollmentGrant> {
        let body = Enrollment {
            code: code.to_owned(),
            device_name: device_name.to_owned(),
        };
        self.post("/v1/enroll", &body).await
    }

    pub async fn catalogue_page(&self, after: u64, limit: u32) -> Result<CataloguePage> {
        self.get(&format!("/v1/catalogue?after={after}&limit={limit}"))
            .await
    }

    pub async fn associates(&self) -> Result<AssociateList> {
        self.get(&format!("/v1/stores/{}/associates", self.store_id))
            .await
    }

    pub async fn stock(&self) -> Result<StockSnapshot> {
        self.get(&format!("/v1/stores/{}/stock", self.store_id))
            .await
    }

    pub async fn orders_page(&self, after: u64, limit: u32) -> Result<OrderFeedPage> {
        let path = format!(
            "/v1/stores/{}/orders/feed?after={after}&limit={limit}",
            self.store_id
        );
        self.get(&path).await
    }

    pub async fn push_events(&self, batch: &EventBatch) -> Result<EventBatchResponse> {
        self.post(&format!("/v1/stores/{}/events", self.store_id), batch)
            .await
    }

    async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T> {
        let request = self.client.get(format!("{}{path}", self.base));
        self.send(path, request).await
    }

    async fn post<B: Serialize, T: DeserializeOwned>(&self, path: &str, body: &B) -> Result<T> {
        let request = self.client.post(format!("{}{path}", self.base)).json(body);
        self.send(path, request).await
    }

    async fn send<T: DeserializeOwned>(
        &self,
        path: &str,
        mut request: reqwest::RequestBuilder,
    ) -> Result<T> {
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.map_err(|e| {
            let what = if e.is_timeout() {
                "did not answer in time"
            } else {
                "is unreachable"
            };
            Error::Central(format!(
                "central at {} {what} ({path}): work goes on offline and waits in the outbox",
                self.base
            ))
        })?;
        let status = response.status();
        if !status.is_success() {
            let body: Option<ErrorBody> = response.json().await.ok();
            let message = body.map_or_else(|| "no details".to_owned(), |b| b.message);
            // A 4xx other than an auth failure means central understood and refused what
            // this device sent (a wrong enrollment code, say): the person can act on it.
            // Auth failures and 5xx mean this device or central is broken.
            let refused_input = status.is_client_error()
                && status != reqwest::StatusCode::UNAUTHORIZED
                && status != reqwest::StatusCode::FORBIDDEN;
            if refused_input {
                return Err(Error::refused(crate::api::ErrorCode::Invalid, message));
            }
            return Err(Error::Central(format!(
                "central refused {path} with {status}: {message}"
            )));
        }
        response
            .json()
            .await
            .map_err(|e| Error::Central(format!("central's answer to {path} was unreadable: {e}")))
    }
}
