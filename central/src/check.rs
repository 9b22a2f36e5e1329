//! Checks every identifier and name that reaches central shares, each failing with a message
//! that names the field, what was wrong and what is allowed.

use crate::error::{Error, Result};

/// The longest identifier central stores (store ids, staff ids, order ids, line ids).
pub const MAX_ID: usize = 128;

/// A store id: 1-64 ASCII letters, digits, `-` or `_` (it appears in URL paths).
pub fn store_id(text: &str) -> Result<()> {
    let ok = (1..=64).contains(&text.len())
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if ok {
        return Ok(());
    }
    Err(Error::invalid(
        "invalid_store_id",
        format!(
            "{text:?} is not a store id: use 1-64 letters, digits, '-' or '_', such as demo-store"
        ),
    ))
}

/// An identifier: not empty, at most [`MAX_ID`] characters, no spaces at either end and no
/// control characters.
pub fn identifier(field: &str, text: &str) -> Result<()> {
    if text.is_empty() {
        return Err(Error::invalid(
            "invalid_id",
            format!("{field} is empty; give one"),
        ));
    }
    if text.chars().count() > MAX_ID {
        return Err(Error::invalid(
            "invalid_id",
            format!("{field} is longer than {MAX_ID} characters"),
        ));
    }
    if text.trim() != text || text.chars().any(char::is_control) {
        return Err(Error::invalid(
            "invalid_id",
            format!("{field} {text:?} has spaces at an end or control characters"),
        ));
    }
    Ok(())
}

/// A name or free text, by the contract's rule ([`storehand::contract::check_text`]).
///
/// # Failure
/// `invalid_text` with the contract's message.
pub fn text(field: &str, text: &str) -> Result<()> {
    storehand::contract::check_text(field, text).map_err(|why| Error::invalid("invalid_text", why))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_ids_allow_url_safe_characters_only() {
        assert!(store_id("demo-store").is_ok());
        assert!(store_id("store_42").is_ok());
        assert_eq!(store_id("").unwrap_err().code(), Some("invalid_store_id"));
        assert_eq!(
            store_id("a/b").unwrap_err().code(),
            Some("invalid_store_id")
        );
        assert_eq!(
            store_id(&"s".repeat(65)).unwrap_err().code(),
            Some("invalid_store_id")
        );
    }

    #[test]
    fn identifiers_and_texts_refuse_blanks_padding_and_control_characters() {
        assert!(identifier("staff id", "1001").is_ok());
        assert!(identifier("staff id", " 1001").is_err());
        assert!(identifier("staff id", "").is_err());
        assert!(text("name", "Ana Souza").is_ok());
        assert!(text("name", "  ").is_err());
        assert!(text("name", "Ana\nSouza").is_err());
    }
}
