//! The `storehand-app` binary: the Storehand window for store tablets and counter PCs.
//!
//! Everything happens in [`storehand_app::run`]; this file only keeps Windows release builds
//! from opening a console window next to the app.

#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

fn main() -> std::process::ExitCode {
    storehand_app::run()
}
