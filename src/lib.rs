//! Storehand core: everything a store device does, without a window.
//!
//! The Tauri shell, the `storehand` command line and the tests all call this crate; nothing in
//! it depends on Tauri. See `ARCHITECTURE.md` for how the modules fit together.

pub mod contract;
pub mod gtin;
pub mod api;
pub mod error;
pub mod order;
pub mod replica;

pub use error::{Error, Result};
pub mod label;
pub mod scan;
