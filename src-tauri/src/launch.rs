//! What the app settles before any window exists: where the device's data lives, and how
//! WebKitGTK draws on Linux.

use std::ffi::OsString;
use std::path::PathBuf;

/// The environment variable that overrides the data directory.
pub const DATA_DIR_VAR: &str = "STOREHAND_DATA_DIR";

/// The directory under the platform's data directory (`~/.local/share` on Linux).
pub const DATA_DIR_NAME: &str = "storehand";

/// The device's data directory: `$STOREHAND_DATA_DIR` when set and not empty, else
/// `storehand` in the platform's data directory.
///
/// # Failure
/// A message for a person when neither is available (no home directory).
pub fn data_dir() -> Result<PathBuf, String> {
    data_dir_from(std::env::var_os(DATA_DIR_VAR), dirs::data_dir())
}

fn data_dir_from(given: Option<OsString>, platform: Option<PathBuf>) -> Result<PathBuf, String> {
    if let Some(dir) = given.filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(dir));
    }
    platform.map(|dir| dir.join(DATA_DIR_NAME)).ok_or_else(|| {
        format!("no data directory: set {DATA_DIR_VAR}, or give this user a home directory")
    })
}

/// The variable that keeps WebKitGTK off its DMA-BUF renderer.
pub const DMABUF_VAR: &str = "WEBKIT_DISABLE_DMABUF_RENDERER";

/// Turns WebKitGTK's DMA-BUF renderer off unless the user chose otherwise: without a GPU (a
/// kiosk on a basic graphics driver, Xvfb in CI) it can leave the window blank.
///
/// WebKitGTK reads the variable from the environment, and setting the process's own
/// environment is `unsafe` in Rust 2024, which this workspace forbids. So when it is missing
/// the process replaces itself with a copy of itself that has it set: same pid, same
/// arguments, before any thread or window exists. Returns only when that did not happen,
/// with the reason when it failed.
#[cfg(target_os = "linux")]
pub fn prefer_software_rendering() -> Option<std::io::Error> {
    use std::os::unix::process::CommandExt;

    if std::env::var_os(DMABUF_VAR).is_some() {
        return None;
    }
    let exe = match std::env::current_exe() {
        Ok(exe) => exe,
        Err(err) => return Some(err),
    };
    let mut args = std::env::args_os();
    let mut relaunch = std::process::Command::new(exe);
    if let Some(arg0) = args.next() {
        relaunch.arg0(arg0);
    }
    Some(relaunch.args(args).env(DMABUF_VAR, "1").exec())
}

/// Other platforms' webviews need nothing here.
#[cfg(not(target_os = "linux"))]
pub fn prefer_software_rendering() -> Option<std::io::Error> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_variable_names_the_data_directory_when_set() {
        let dir = data_dir_from(
            Some("/srv/tablet-3".into()),
            Some("/home/a/.local/share".into()),
        );
        assert_eq!(dir, Ok(PathBuf::from("/srv/tablet-3")));
    }

    #[test]
    fn an_empty_variable_falls_back_to_the_platform_directory() {
        let dir = data_dir_from(Some("".into()), Some("/home/a/.local/share".into()));
        assert_eq!(dir, Ok(PathBuf::from("/home/a/.local/share/storehand")));
    }

    #[test]
    fn no_directory_at_all_says_what_to_set() {
        let err = data_dir_from(None, None).unwrap_err();
        assert!(
            err.contains(DATA_DIR_VAR),
            "the message names the variable: {err}"
        );
    }
}
