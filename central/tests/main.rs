//! Integration tests of `storehand-central`: the real binary on loopback, the real data.
//!
//! HTTP tests start `storehand-central serve` on port 0 over a fresh database and read its
//! address from the first stdout line. Tests over real data read `../shared/data` beside the
//! workspace (or `STOREHAND_DATA`); without it they print why and pass, except under `CI=true`,
//! where they fail.

mod cancel;
mod catalogue;
mod cli;
mod demo;
mod events;
mod faults;
mod feed;
mod olist;
mod support;
