//! Pickup codes: the code a customer shows at the counter to collect an order.
//!
//! Format: 8 characters from [`ALPHABET`], written `XXXX-XXXX` (canonical form, as printed on
//! the "ready" message and the pickup label). The alphabet leaves out characters people and
//! cameras confuse: 0/O, 1/I/L, 5/S and 8/B. That leaves 27 characters, so there are 27^8
//! (about 2.8 × 10^11) codes. A device recognises one as: after trimming, upper-casing and
//! removing one optional hyphen in the middle, exactly 8 characters all in [`ALPHABET`].
//!
//! [`PickupCode::derive`] makes the code of generated test and demo orders from their order id,
//! so the same input always yields the same code. That is fine for made-up orders only: a real
//! platform draws pickup codes from a secure random source, because anyone who can compute a
//! code from an order id can collect that order.

use std::fmt;

use crate::rng::SplitMix64;

/// The characters of a pickup code, in the order the generator indexes them.
pub const ALPHABET: &str = "ACDEFGHJKMNPQRTUVWXYZ234679";

/// A pickup code in canonical `XXXX-XXXX` form.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PickupCode(String);

/// Why a text is not a pickup code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PickupCodeError {
    /// Raised when the text, without its hyphen, is not 8 characters long.
    #[error("a pickup code has 8 characters written XXXX-XXXX; {text:?} has {len}")]
    WrongLength { text: String, len: usize },
    /// Raised for a character outside [`ALPHABET`], such as O, 0, I, 1, L, S, 5, B or 8.
    #[error(
        "{found:?} (character {position} of {text:?}) is never used in pickup codes, which use \
         only {ALPHABET}"
    )]
    BadCharacter {
        text: String,
        found: char,
        position: usize,
    },
    /// Raised when a hyphen is anywhere but between the fourth and fifth characters.
    #[error("a pickup code is written XXXX-XXXX, with one hyphen in the middle; not {text:?}")]
    MisplacedHyphen { text: String },
}

impl PickupCode {
    /// A code drawn from `rng`.
    pub fn generate(rng: &mut SplitMix64) -> PickupCode {
        let alphabet = ALPHABET.as_bytes();
        let mut code = String::with_capacity(9);
        for i in 0..8 {
            if i == 4 {
                code.push('-');
            }
            code.push(char::from(
                alphabet[rng.below(alphabet.len() as u64) as usize],
            ));
        }
        PickupCode(code)
    }

    /// The code of a generated (test or demo) order, a pure function of its platform order id.
    pub fn derive(platform_order_id: &str) -> PickupCode {
        PickupCode::generate(&mut SplitMix64::from_text(&format!(
            "pickup:{platform_order_id}"
        )))
    }

    /// Reads a code as a person types it or a scanner sends it: surrounding whitespace ignored,
    /// lower case accepted, the hyphen optional.
    ///
    /// # Failure
    /// The [`PickupCodeError`] naming what is wrong.
    pub fn parse(text: &str) -> Result<PickupCode, PickupCodeError> {
        let trimmed = text.trim();
        let compact: String = trimmed.chars().filter(|&c| c != '-').collect();
        let hyphens = trimmed.chars().count() - compact.chars().count();
        let len = compact.chars().count();
        if len != 8 {
            return Err(PickupCodeError::WrongLength {
                text: text.to_owned(),
                len,
            });
        }
        if hyphens > 1 || (hyphens == 1 && trimmed.chars().nth(4) != Some('-')) {
            return Err(PickupCodeError::MisplacedHyphen {
                text: text.to_owned(),
            });
        }
        let upper = compact.to_uppercase();
        if let Some((position, found)) = upper
            .chars()
            .enumerate()
            .find(|(_, c)| !ALPHABET.contains(*c))
        {
            return Err(PickupCodeError::BadCharacter {
                text: text.to_owned(),
                found,
                position: position + 1,
            });
        }
        Ok(PickupCode(format!("{}-{}", &upper[..4], &upper[4..])))
    }

    /// The canonical `XXXX-XXXX` form.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for PickupCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_alphabet_has_27_characters_and_none_that_people_confuse() {
        assert_eq!(ALPHABET.len(), 27);
        for c in "0O1IL5S8B".chars() {
            assert!(!ALPHABET.contains(c), "{c} must not be in the alphabet");
        }
    }

    #[test]
    fn derived_codes_are_canonical_stable_and_differ_between_orders() {
        let a = PickupCode::derive("demo-store-D-10001");
        assert_eq!(a, PickupCode::derive("demo-store-D-10001"));
        assert_ne!(a, PickupCode::derive("demo-store-D-10002"));
        assert_eq!(PickupCode::parse(a.as_str()).unwrap(), a);
        assert_eq!(a.as_str().len(), 9);
        assert_eq!(&a.as_str()[4..5], "-");
    }

    #[test]
    fn typed_forms_normalise_to_the_canonical_code() {
        let code = PickupCode::parse(" k7qm4rtx \n").unwrap();
        assert_eq!(code.as_str(), "K7QM-4RTX");
        assert_eq!(PickupCode::parse("K7QM-4RTX").unwrap(), code);
    }

    #[test]
    fn bad_codes_are_refused_with_the_reason() {
        assert_eq!(
            PickupCode::parse("K7QM-4RT"),
            Err(PickupCodeError::WrongLength {
                text: "K7QM-4RT".into(),
                len: 7
            })
        );
        assert_eq!(
            PickupCode::parse("K7QM-4RT0"),
            Err(PickupCodeError::BadCharacter {
                text: "K7QM-4RT0".into(),
                found: '0',
                position: 8
            })
        );
        assert_eq!(
            PickupCode::parse("K7-QM4RTX"),
            Err(PickupCodeError::MisplacedHyphen {
                text: "K7-QM4RTX".into()
            })
        );
        assert!(matches!(
            PickupCode::parse("K7QM--4RTX"),
            Err(PickupCodeError::MisplacedHyphen { .. })
        ));
        assert!(matches!(
            PickupCode::parse("K5QM-4RTX"),
            Err(PickupCodeError::BadCharacter { .. })
        ));
    }
}
