//! The device's read-only copy of central's catalogue, and search over it.
//!
//! Products arrive in pages from central's catalogue feed. The first load is a bulk insert
//! followed by one FTS5 index build (indexing row by row during a bulk load is about 5× slower);
//! later pages update the index as they go. Search takes a code in any spelling (UPC-A, EAN-13
//! with a leading zero, GTIN-14) or words, each matched as a prefix of any word of the name or
//! brand. Short queries are not ranked: bm25 over many matches of a short prefix is slow.

use rusqlite::{Connection, OptionalExtension, Transaction, params};

use crate::api::{ErrorCode, ProductView};
use crate::contract::CatalogueProduct;
use crate::error::{Error, Result};
use crate::scan;

/// At most this many products come back from one search.
pub const SEARCH_LIMIT: usize = 50;

/// Stores a page of products. `bulk` skips index maintenance; call [`rebuild_index`] after.
pub fn apply_page(tx: &Transaction<'_>, items: &[CatalogueProduct], bulk: bool) -> Result<()> {
    let mut find =
        tx.prepare_cached("SELECT rowid, name, brand FROM products WHERE gtin14 = ?1")?;
    let mut insert = tx.prepare_cached(
        "INSERT INTO products (gtin14, printed_code, name, brand, image_url)
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )?;
    let mut update = tx.prepare_cached(
        "UPDATE products SET printed_code = ?2, name = ?3, brand = ?4, image_url = ?5
         WHERE rowid = ?1",
    )?;
    let mut fts_delete = tx.prepare_cached(
        "INSERT INTO products_fts (products_fts, rowid, name, brand) VALUES ('delete', ?1, ?2, ?3)",
    )?;
    let mut fts_insert =
        tx.prepare_cached("INSERT INTO products_fts (rowid, name, brand) VALUES (?1, ?2, ?3)")?;
    for p in items {
        let existing: Option<(i64, String, Option<String>)> = find
            .query_row([&p.gtin14], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .optional()?;
        let rowid = match existing {
            Some((rowid, name, brand)) => {
                if !bulk {
                    fts_delete.execute(params![rowid, name, brand])?;
                }
                update.execute(params![rowid, p.printed_code, p.name, p.brand, p.image_url])?;
                rowid
            }
            None => {
                insert.execute(params![
                    p.gtin14,
                    p.printed_code,
                    p.name,
                    p.brand,
                    p.image_url
                ])?;
                tx.last_insert_rowid()
            }
        };
        if !bulk {
            fts_insert.execute(params![rowid, p.name, p.brand])?;
        }
    }
    Ok(())
}

/// Rebuilds the full-text index from the products table.
pub fn rebuild_index(tx: &Transaction<'_>) -> Result<()> {
    tx.execute(
        "INSERT INTO products_fts (products_fts) VALUES ('rebuild')",
        [],
    )?;
    Ok(())
}

pub fn product_count(conn: &Connection) -> Result<i64> {
    Ok(conn.query_row("SELECT COUNT(*) FROM products", [], |r| r.get(0))?)
}

/// A product by its GTIN-14 with this store's stock, or `None`.
pub fn product(conn: &Connection, gtin14: &str) -> Result<Option<ProductView>> {
    let mut stmt = conn.prepare_cached(&format!("{PRODUCT_SELECT} WHERE p.gtin14 = ?1"))?;
    Ok(stmt.query_row([gtin14], product_row).optional()?)
}

/// Products matching `query`: a code in any spelling, or words matched as prefixes.
///
/// # Failure
/// A refusal for an empty query, and for a code with a wrong check digit (a misread code is
/// never looked up loosely).
pub fn search(conn: &Connection, query: &str) -> Result<Vec<ProductView>> {
    let query = query.trim();
    if query.is_empty() {
        return Err(Error::refused(
            ErrorCode::Invalid,
            "type a name, a brand or a code to search",
        ));
    }
    if query.bytes().all(|b| b.is_ascii_digit()) && matches!(query.len(), 8 | 12 | 13 | 14) {
        let gtin = scan::parse_gtin(query)?;
        return Ok(product(conn, gtin.gtin14())?.into_iter().collect());
    }
    let words: Vec<String> = query
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| format!("\"{}\"*", w.replace('"', "")))
        .collect();
    if words.is_empty() {
        return Err(Error::refused(
            ErrorCode::Invalid,
            format!("{query:?} has no letters or digits to search for"),
        ));
    }
    let fts = words.join(" AND ");
    // Rank only long queries: they match few rows, so bm25 is cheap there.
    let order = if query.len() >= 6 {
        "ORDER BY f.rank"
    } else {
        ""
    };
    let sql = format!(
        "{PRODUCT_SELECT} JOIN products_fts f ON f.rowid = p.rowid
         WHERE products_fts MATCH ?1 {order} LIMIT {SEARCH_LIMIT}"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map([fts], product_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

const PRODUCT_SELECT: &str = "
    SELECT p.gtin14, p.printed_code, p.name, p.brand, s.on_hand,
           (SELECT COALESCE(SUM(l.ordered - l.picked), 0) FROM order_lines l
            WHERE l.gtin14 = p.gtin14 AND l.open = 1 AND l.picked < l.ordered)
    FROM products p LEFT JOIN stock s ON s.gtin14 = p.gtin14";

fn product_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<ProductView> {
    let on_hand: Option<i64> = r.get(4)?;
    let reserved: i64 = r.get(5)?;
    let clamp = |v: i64| i32::try_from(v).unwrap_or(if v < 0 { i32::MIN } else { i32::MAX });
    Ok(ProductView {
        gtin14: r.get(0)?,
        printed_code: r.get(1)?,
        name: r.get(2)?,
        brand: r.get(3)?,
        on_hand: on_hand.map(clamp),
        available: on_hand.map(|h| clamp(h - reserved)),
    })
}
