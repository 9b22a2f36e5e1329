//! The X display the app's window lives on: an Xvfb server of the test's own, and screenshots
//! of it.
//!
//! Screenshots are taken from the X server, not through WebDriver, for two reasons. They show
//! what a person would see, so a window that comes up blank (the failure
//! `WEBKIT_DISABLE_DMABUF_RENDERER` is there to prevent) shows up blank, where WebKit's own
//! snapshot would render the page anyway. And with the DMA-BUF renderer off, which the app
//! chooses on Linux, WebKitWebDriver 2.50's "take screenshot" waits for the page's next
//! repaint and hangs on a page that is standing still.

use std::fs::File;
use std::io::BufWriter;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use x11rb::connection::Connection;
use x11rb::protocol::xproto::{ConnectionExt, ImageFormat, ImageOrder};

use super::{Guard, split_lines};

/// The screen the app's window (1280 × 800 in `tauri.conf.json`) fills.
const SCREEN: &str = "1280x800x24";

/// An Xvfb server, stopped when dropped.
pub struct Xvfb {
    /// `:N`, for `DISPLAY`.
    pub display: String,
    _guard: Guard,
}

impl Xvfb {
    /// Starts Xvfb on the first free display number, which it picks itself and writes to its
    /// standard output (`-displayfd`), so two runs never race for one number.
    pub fn start(xvfb: &Path, log: &Path) -> Result<Xvfb> {
        let mut cmd = Command::new(xvfb);
        cmd.args([
            "-displayfd",
            "1",
            "-screen",
            "0",
            SCREEN,
            "-nolisten",
            "tcp",
        ])
        .stdout(Stdio::piped());
        let mut guard = Guard::spawn("Xvfb", cmd, log, false)?;
        let stdout = guard.stdout().context("Xvfb's standard output")?;
        let lines = split_lines(stdout, 1, File::create(log.with_extension("out"))?);
        let number = lines
            .recv_timeout(Duration::from_secs(15))
            .context("Xvfb did not report its display number within 15 s")?;
        let number: u32 = number
            .trim()
            .parse()
            .with_context(|| format!("Xvfb reported display {number:?}"))?;
        Ok(Xvfb {
            display: format!(":{number}"),
            _guard: guard,
        })
    }

    /// Saves the whole screen as an RGB PNG, and tells whether anything is drawn on it (more
    /// than one colour).
    pub fn screenshot(&self, to: &Path) -> Result<bool> {
        let (conn, screen_num) = x11rb::connect(Some(&self.display))
            .with_context(|| format!("cannot connect to X display {}", self.display))?;
        let setup = conn.setup();
        let screen = &setup.roots[screen_num];
        let (width, height) = (screen.width_in_pixels, screen.height_in_pixels);
        let image = conn
            .get_image(
                ImageFormat::Z_PIXMAP,
                screen.root,
                0,
                0,
                width,
                height,
                u32::MAX,
            )?
            .reply()
            .context("X GetImage of the root window")?;
        let bits_per_pixel = setup
            .pixmap_formats
            .iter()
            .find(|f| f.depth == image.depth)
            .map(|f| f.bits_per_pixel);
        // Xvfb's 24-bit screens are 32 bits a pixel, blue first in memory; anything else is a
        // screen this rig did not create.
        if image.depth != 24
            || bits_per_pixel != Some(32)
            || setup.image_byte_order != ImageOrder::LSB_FIRST
        {
            bail!(
                "unexpected X image format: depth {}, {bits_per_pixel:?} bits a pixel",
                image.depth
            );
        }
        let mut rgb = Vec::with_capacity(usize::from(width) * usize::from(height) * 3);
        for px in image.data.chunks_exact(4) {
            rgb.extend_from_slice(&[px[2], px[1], px[0]]);
        }
        let drawn = rgb.chunks_exact(3).any(|px| px != &rgb[..3]);

        let file = File::create(to).with_context(|| format!("cannot create {}", to.display()))?;
        let mut encoder = png::Encoder::new(BufWriter::new(file), width.into(), height.into());
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        encoder.write_header()?.write_image_data(&rgb)?;
        Ok(drawn)
    }
}
