//! Integration tests of the Storehand core: devices with real SQLite replicas against a real
//! `storehand-central` process on loopback. Build the central first:
//! `cargo build -p storehand-central` (the test scripts do).

mod bopis;
mod catalogue;
mod cli;
mod crash;
mod durability;
mod generated;
mod labels;
mod offline;
mod olist;
mod peer;
mod refusals;
mod replica;
mod support;
