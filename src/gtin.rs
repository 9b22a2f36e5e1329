//! Global Trade Item Numbers: check-digit validation and normalisation to GTIN-14.
//!
//! Every lookup and comparison in Storehand uses the 14-digit form; the form a source printed
//! (8, 12, 13 or 14 digits) is kept for display. The rules are those of the GS1 General
//! Specifications, section 7.9 (check digit calculation) and 3.3.2 (GTIN formats). A UPC-A
//! stored as 13 digits with a leading zero and the same UPC-A as 12 digits normalise to the same
//! GTIN-14, which is what makes a scan of either spelling find the product.

use std::fmt;

/// A validated GTIN.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Gtin {
    gtin14: String,
    printed: String,
}

/// Why a text is not a GTIN.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GtinError {
    /// Raised for empty text or text with anything but the digits 0-9.
    #[error("a GTIN has only digits; {0:?} is not one")]
    NotDigits(String),
    /// Raised when the number of digits is not 8, 12, 13 or 14.
    #[error("a GTIN has 8, 12, 13 or 14 digits; {digits:?} has {len}")]
    BadLength { digits: String, len: usize },
    /// Raised when the last digit disagrees with the GS1 check digit of the others; usually a
    /// misread or mistyped digit.
    #[error("check digit of {digits} should be {expected}, not {found}: the code was misread")]
    BadCheckDigit {
        digits: String,
        expected: u8,
        found: u8,
    },
    /// Raised for the all-zero code, which GS1 never allocates.
    #[error("{0} is all zeros, which is never a real GTIN")]
    AllZeros(String),
}

impl Gtin {
    /// Validates `text` (digits only, 8/12/13/14 long, correct check digit) and normalises it.
    ///
    /// # Failure
    /// Returns the [`GtinError`] that names what is wrong; nothing is guessed or padded beyond
    /// the left-zero padding GS1 defines.
    pub fn parse(text: &str) -> Result<Gtin, GtinError> {
        if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
            return Err(GtinError::NotDigits(text.to_owned()));
        }
        if !matches!(text.len(), 8 | 12 | 13 | 14) {
            return Err(GtinError::BadLength {
                digits: text.to_owned(),
                len: text.len(),
            });
        }
        if text.bytes().all(|b| b == b'0') {
            return Err(GtinError::AllZeros(text.to_owned()));
        }
        let (body, last) = text.split_at(text.len() - 1);
        let expected = check_digit(body);
        let found = last.as_bytes()[0] - b'0';
        if expected != found {
            return Err(GtinError::BadCheckDigit {
                digits: text.to_owned(),
                expected,
                found,
            });
        }
        Ok(Gtin {
            gtin14: format!("{text:0>14}"),
            printed: text.to_owned(),
        })
    }

    /// Builds a GTIN from 14 digits already known to be valid (as stored in the replica).
    ///
    /// # Failure
    /// The same as [`Gtin::parse`], and [`GtinError::BadLength`] unless 14 digits long.
    pub fn from_gtin14(gtin14: &str, printed: &str) -> Result<Gtin, GtinError> {
        if gtin14.len() != 14 {
            return Err(GtinError::BadLength {
                digits: gtin14.to_owned(),
                len: gtin14.len(),
            });
        }
        let mut gtin = Gtin::parse(gtin14)?;
        gtin.printed = printed.to_owned();
        Ok(gtin)
    }

    /// The 14-digit form: the key for lookups and comparisons.
    pub fn gtin14(&self) -> &str {
        &self.gtin14
    }

    /// The form as scanned or printed by the source, for display.
    pub fn printed(&self) -> &str {
        &self.printed
    }
}

impl fmt::Display for Gtin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.printed)
    }
}

/// The GS1 mod-10 check digit of `body` (all digits but the check digit): weights 3 and 1
/// alternate from the rightmost digit (GS1 General Specifications 7.9.1).
pub fn check_digit(body: &str) -> u8 {
    let sum: u32 = body
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| u32::from(b - b'0') * if i % 2 == 0 { 3 } else { 1 })
        .sum();
    ((10 - sum % 10) % 10) as u8
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_spelling_of_a_upc_a_normalises_to_one_gtin14() {
        let upc = Gtin::parse("036000291452").unwrap();
        let ean = Gtin::parse("0036000291452").unwrap();
        let g14 = Gtin::parse("00036000291452").unwrap();
        assert_eq!(upc.gtin14(), "00036000291452");
        assert_eq!(upc.gtin14(), ean.gtin14());
        assert_eq!(ean.gtin14(), g14.gtin14());
        assert_eq!(upc.printed(), "036000291452");
    }

    #[test]
    fn gtin8_and_ean13_validate() {
        assert_eq!(Gtin::parse("96385074").unwrap().gtin14(), "00000096385074");
        assert_eq!(
            Gtin::parse("4006381333931").unwrap().gtin14(),
            "04006381333931"
        );
    }

    #[test]
    fn a_wrong_check_digit_is_refused_with_the_expected_digit() {
        assert_eq!(
            Gtin::parse("4006381333932"),
            Err(GtinError::BadCheckDigit {
                digits: "4006381333932".into(),
                expected: 1,
                found: 2
            })
        );
    }

    #[test]
    fn short_codes_letters_and_zeros_are_refused() {
        assert!(matches!(
            Gtin::parse("10"),
            Err(GtinError::BadLength { len: 2, .. })
        ));
        assert!(matches!(
            Gtin::parse("40063813339X1"),
            Err(GtinError::NotDigits(_))
        ));
        assert!(matches!(Gtin::parse(""), Err(GtinError::NotDigits(_))));
        assert!(matches!(
            Gtin::parse("00000000"),
            Err(GtinError::AllZeros(_))
        ));
    }
}
