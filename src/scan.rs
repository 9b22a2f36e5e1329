//! Raw scanner text to a typed scan.
//!
//! A keyboard-wedge scanner types its data into the focused field and ends with Enter; a person
//! may type the same. This module decides what the text is: a product's GTIN, one of the
//! store's own codes (a pickup code, a bin label, an associate badge), or nothing that can be a
//! scan, and says why. It never guesses: a pick confirms only on an exact normalised match.
//!
//! Store codes:
//! - pickup code: 8 characters of [`PICKUP_ALPHABET`], printed `XXXX-XXXX`; typed without the
//!   hyphen or in lower case it is still recognised.
//! - bin label: `BIN-` then a zone letter and two digits, such as `BIN-A07`.
//! - associate badge: `BADGE-` then the staff id.

use crate::api::ErrorCode;
use crate::error::Error;
use crate::gtin::{Gtin, GtinError};

/// Characters of a pickup code: no 0/O, 1/I/L, 5/S or 8/B, which people and cameras confuse.
pub const PICKUP_ALPHABET: &str = "ACDEFGHJKMNPQRTUVWXYZ234679";

/// What a scan is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scan {
    Product(Gtin),
    PickupCode(String),
    Bin(String),
    Badge(String),
}

/// Classifies `raw` as scanned or typed. Surrounding whitespace and a trailing CR/LF (the
/// scanner's Enter) are ignored; nothing else is forgiven.
///
/// # Failure
/// A refusal with [`ErrorCode::BadCheckDigit`] for a GTIN whose check digit is wrong, and
/// [`ErrorCode::NotAScan`] for text that is no code at all, each with the reason.
pub fn parse(raw: &str) -> Result<Scan, Error> {
    let text = raw.trim();
    if text.is_empty() {
        return Err(Error::refused(ErrorCode::NotAScan, "nothing was scanned"));
    }
    if text.len() > 64 {
        return Err(Error::refused(
            ErrorCode::NotAScan,
            "the text is far too long for one barcode: two scans may have run together; scan \
             again",
        ));
    }
    if text.bytes().all(|b| b.is_ascii_digit()) {
        return parse_gtin(text).map(Scan::Product);
    }
    let upper = text.to_ascii_uppercase();
    if let Some(bin) = upper.strip_prefix("BIN-") {
        let b = bin.as_bytes();
        let ok = b.len() == 3 && b[0].is_ascii_uppercase() && b[1..].iter().all(u8::is_ascii_digit);
        return if ok {
            Ok(Scan::Bin(upper))
        } else {
            Err(Error::refused(
                ErrorCode::NotAScan,
                format!("{text:?} is not a bin label: they read BIN-, a zone letter, two digits"),
            ))
        };
    }
    if let Some(staff) = upper.strip_prefix("BADGE-")
        && !staff.is_empty()
        && staff.bytes().all(|b| b.is_ascii_alphanumeric())
    {
        return Ok(Scan::Badge(staff.to_owned()));
    }
    if let Some(code) = pickup_code(&upper) {
        return Ok(Scan::PickupCode(code));
    }
    Err(Error::refused(
        ErrorCode::NotAScan,
        format!(
            "{text:?} is not a product barcode, pickup code or bin label; if a scanner sent \
             it, check the scanner's keyboard layout"
        ),
    ))
}

/// A GTIN from a digits-only scan, with the refusal a person can act on.
pub fn parse_gtin(text: &str) -> Result<Gtin, Error> {
    Gtin::parse(text).map_err(|err| match err {
        GtinError::BadCheckDigit { .. } => Error::refused(
            ErrorCode::BadCheckDigit,
            format!("{err}; scan it again or type the digits under the barcode"),
        ),
        GtinError::BadLength { .. } => Error::refused(
            ErrorCode::NotAScan,
            format!("{err}: a digit was dropped or two scans ran together; scan again"),
        ),
        other => Error::refused(ErrorCode::NotAScan, other.to_string()),
    })
}

/// The canonical `XXXX-XXXX` form when `upper` is a pickup code, typed with or without the
/// hyphen.
pub fn pickup_code(upper: &str) -> Option<String> {
    let compact: String = upper.chars().filter(|&c| c != '-').collect();
    let hyphens = upper.len() - compact.len();
    let valid = compact.len() == 8
        && hyphens <= 1
        && (hyphens == 0 || upper.as_bytes().get(4) == Some(&b'-'))
        && compact.chars().all(|c| PICKUP_ALPHABET.contains(c));
    valid.then(|| format!("{}-{}", &compact[..4], &compact[4..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refusal(raw: &str) -> ErrorCode {
        parse(raw).unwrap_err().code()
    }

    #[test]
    fn a_wedge_scan_with_its_enter_is_a_product() {
        let Scan::Product(gtin) = parse("4006381333931\r\n").unwrap() else {
            panic!()
        };
        assert_eq!(gtin.gtin14(), "04006381333931");
    }

    #[test]
    fn store_codes_are_recognised() {
        assert_eq!(parse("BIN-A07").unwrap(), Scan::Bin("BIN-A07".into()));
        assert_eq!(parse("bin-a07").unwrap(), Scan::Bin("BIN-A07".into()));
        assert_eq!(
            parse("K7QM-4RTX").unwrap(),
            Scan::PickupCode("K7QM-4RTX".into())
        );
        assert_eq!(
            parse("k7qm4rtx").unwrap(),
            Scan::PickupCode("K7QM-4RTX".into())
        );
        assert_eq!(parse("BADGE-1001").unwrap(), Scan::Badge("1001".into()));
    }

    #[test]
    fn a_bad_check_digit_and_text_that_is_no_code_are_refused_with_their_reason() {
        assert_eq!(refusal("4006381333932"), ErrorCode::BadCheckDigit);
        assert_eq!(refusal("40063813339"), ErrorCode::NotAScan);
        assert_eq!(refusal("40063813339314006381333931"), ErrorCode::NotAScan);
        assert_eq!(refusal("BIN-7"), ErrorCode::NotAScan);
        // "&é"(-è_çà" is what a French AZERTY host makes of a scanner's "1234567890".
        assert_eq!(refusal("&é\"'(-è_çà"), ErrorCode::NotAScan);
        assert_eq!(refusal("K0QM-4RTX"), ErrorCode::NotAScan);
        assert_eq!(
            refusal("K5QM-4RTX"),
            ErrorCode::NotAScan,
            "5 reads as S: never issued"
        );
        assert_eq!(refusal("   "), ErrorCode::NotAScan);
    }
}
