//! Catalogue search from the local replica: by name prefix, brand or a scanned code.

use std::sync::Arc;

use storehand::Device;
use storehand::api::{ApiError, ProductView};
use tauri::State;

use crate::call::blocking;

#[tauri::command]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn search_products(
    device: State<'_, Arc<Device>>,
    query: String,
) -> Result<Vec<ProductView>, ApiError> {
    blocking(&device, move |d| d.search_products(&query)).await
}
