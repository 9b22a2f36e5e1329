//! Printable labels: a Code 128 barcode (encoded by barcoders) with its text beneath, as SVG.
//!
//! barcoders returns the bar pattern without a quiet zone; decoders need one (ISO/IEC 15417,
//! section 4.4.5, asks for at least 10 modules each side), so the SVG adds it.

use barcoders::sym::code128::Code128;

use crate::api::{ErrorCode, Label};
use crate::error::{Error, Result};

/// Quiet zone on each side, in modules.
const QUIET_MODULES: usize = 12;
/// Width of one module in SVG units (pixels at 100 %).
const MODULE_PX: usize = 3;
const BAR_HEIGHT_PX: usize = 110;
const TEXT_BAND_PX: usize = 44;

/// A pickup label: the pickup code as Code 128 with the code, order number and customer beneath.
///
/// # Failure
/// A refusal when `code` has characters outside Code 128 set B (printable ASCII).
pub fn pickup_label(code: &str, caption: &str) -> Result<Label> {
    if code.is_empty() || !code.bytes().all(|b| (0x20..0x7f).contains(&b)) {
        return Err(Error::refused(
            ErrorCode::Invalid,
            format!("{code:?} cannot be printed as Code 128: only printable ASCII can"),
        ));
    }
    // "Ɓ" selects Code 128 character set B, which holds upper and lower case and digits.
    let bars = Code128::new(format!("\u{0181}{code}"))
        .map_err(|e| Error::refused(ErrorCode::Invalid, format!("Code 128 of {code:?}: {e}")))?
        .encode();
    Ok(Label {
        code: code.to_owned(),
        svg: svg(&bars, code, caption),
    })
}

fn svg(bars: &[u8], code: &str, caption: &str) -> String {
    let width = (bars.len() + 2 * QUIET_MODULES) * MODULE_PX;
    let height = BAR_HEIGHT_PX + TEXT_BAND_PX + 30;
    let mut out = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" \
         viewBox=\"0 0 {width} {height}\">\
         <rect width=\"{width}\" height=\"{height}\" fill=\"#ffffff\"/>"
    );
    // One rect per run of dark modules keeps the file small.
    let mut x = 0;
    while x < bars.len() {
        if bars[x] == 1 {
            let start = x;
            while x < bars.len() && bars[x] == 1 {
                x += 1;
            }
            out.push_str(&format!(
                "<rect x=\"{}\" y=\"10\" width=\"{}\" height=\"{BAR_HEIGHT_PX}\" \
                 fill=\"#000000\"/>",
                (QUIET_MODULES + start) * MODULE_PX,
                (x - start) * MODULE_PX
            ));
        } else {
            x += 1;
        }
    }
    let mid = width / 2;
    let text_y = BAR_HEIGHT_PX + 42;
    out.push_str(&format!(
        "<text x=\"{mid}\" y=\"{text_y}\" font-family=\"monospace\" font-size=\"30\" \
         text-anchor=\"middle\" fill=\"#000000\">{}</text>",
        escape(code)
    ));
    out.push_str(&format!(
        "<text x=\"{mid}\" y=\"{}\" font-family=\"sans-serif\" font-size=\"16\" \
         text-anchor=\"middle\" fill=\"#000000\">{}</text></svg>",
        text_y + 24,
        escape(caption)
    ));
    out
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_label_carries_the_code_as_text_and_bars_inside_a_quiet_zone() {
        let label = pickup_label("K7QM-4RTX", "D-10001 <Ana>").unwrap();
        assert!(label.svg.contains(">K7QM-4RTX</text>"));
        assert!(label.svg.contains("D-10001 &lt;Ana&gt;"));
        let first_bar = label.svg.find("fill=\"#000000\"").unwrap();
        assert!(label.svg[..first_bar].contains(&format!("x=\"{}\"", QUIET_MODULES * MODULE_PX)));
    }

    #[test]
    fn text_outside_code128_set_b_is_refused() {
        assert_eq!(
            pickup_label("K7QM-4RTÉ", "").unwrap_err().code(),
            ErrorCode::Invalid
        );
        assert_eq!(pickup_label("", "").unwrap_err().code(), ErrorCode::Invalid);
    }
}
