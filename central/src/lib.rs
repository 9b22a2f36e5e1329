//! `storehand-central`: a reference implementation of the platform side of the Storehand store
//! contract (`storehand::contract`).
//!
//! It keeps one SQLite file ([`db`]) holding stores, devices, associates, the catalogue, stock,
//! orders with their feed, and the events stores write back, and it serves the contract over
//! HTTP ([`http`], [`server`]). Command-line tools fill it with real data: the Open Food Facts
//! catalogue ([`off`]), Olist marketplace orders ([`olist`]) and a demo store ([`demo`]).
//!
//! Module map:
//! - [`db`]: opening the file, migrations, IMMEDIATE write transactions.
//! - [`catalogue`], [`stores`], [`devices`], [`orders`], [`events`]: the domain, one table
//!   family each, as functions over a connection or transaction.
//! - [`http`], [`server`], [`admin`]: the API, its accept loop and the admin wire types.
//! - [`off`], [`olist`], [`demo`]: importers and generators.
//! - [`pickup`], [`rng`], [`check`]: small shared pieces (time comes from `storehand::time`).

pub mod admin;
pub mod catalogue;
pub mod check;
pub mod db;
pub mod demo;
pub mod devices;
pub mod enrollment;
pub mod error;
pub mod events;
pub mod http;
pub mod off;
pub mod olist;
pub mod orders;
pub mod pickup;
pub mod rng;
pub mod server;
pub mod stores;

pub use error::{Error, Result};
