//! Storehand core: everything a store device does, without a window.
//!
//! The Tauri shell, the `storehand` command line and the tests all call this crate; nothing in
//! it depends on Tauri. See `ARCHITECTURE.md` for how the modules fit together.

pub mod api;
pub mod auth;
pub mod catalogue;
pub mod connector;
pub mod contract;
pub mod device;
pub mod error;
pub mod gtin;
pub mod label;
pub mod node;
pub mod order;
pub mod peer;
pub mod replica;
pub mod scan;
pub mod stock;
pub mod time;

pub use device::Device;
pub use error::{Error, Result};
