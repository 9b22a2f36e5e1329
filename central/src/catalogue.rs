//! The central catalogue and its feed.
//!
//! Products are keyed by GTIN-14. Each has a `seq`, its position in the catalogue feed: a
//! product that is new or whose content changed gets the next seq, so a device that read the
//! feed up to its cursor sees exactly what changed since. Writing the same content again
//! changes nothing, not even the seq.

use rusqlite::{Connection, Transaction, params};
use serde::Serialize;
use storehand::contract::{CataloguePage, CatalogueProduct};

use crate::error::Result;

/// The most items one page of a feed holds.
pub const MAX_PAGE: u32 = 1000;

/// What an upsert did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Upserted {
    pub inserted: u64,
    pub updated: u64,
    pub unchanged: u64,
}

/// Writes `products` (already validated) into the catalogue.
pub fn upsert(tx: &Transaction<'_>, products: &[CatalogueProduct]) -> Result<Upserted> {
    let before: i64 = tx.query_row("SELECT COUNT(*) FROM products", [], |r| r.get(0))?;
    let mut next_seq: i64 =
        tx.query_row("SELECT COALESCE(MAX(seq), 0) + 1 FROM products", [], |r| {
            r.get(0)
        })?;
    let mut stmt = tx.prepare_cached(
        "INSERT INTO products (seq, gtin14, printed_code, name, brand, image_url)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT (gtin14) DO UPDATE SET
             seq = excluded.seq, printed_code = excluded.printed_code, name = excluded.name,
             brand = excluded.brand, image_url = excluded.image_url
         WHERE printed_code IS NOT excluded.printed_code OR name IS NOT excluded.name
            OR brand IS NOT excluded.brand OR image_url IS NOT excluded.image_url",
    )?;
    let mut changed = 0u64;
    for p in products {
        let n = stmt.execute(params![
            next_seq,
            p.gtin14,
            p.printed_code,
            p.name,
            p.brand,
            p.image_url
        ])?;
        if n > 0 {
            changed += 1;
            next_seq += 1;
        }
    }
    let after: i64 = tx.query_row("SELECT COUNT(*) FROM products", [], |r| r.get(0))?;
    let inserted = (after - before) as u64;
    Ok(Upserted {
        inserted,
        updated: changed - inserted,
        unchanged: products.len() as u64 - changed,
    })
}

/// The catalogue feed after cursor `after`, at most `limit` items (1..=[`MAX_PAGE`], checked by
/// the caller).
pub fn page(conn: &Connection, after: u64, limit: u32) -> Result<CataloguePage> {
    let mut stmt = conn.prepare_cached(
        "SELECT seq, gtin14, printed_code, name, brand, image_url FROM products
         WHERE seq > ?1 ORDER BY seq LIMIT ?2",
    )?;
    let mut rows = stmt.query(params![after as i64, i64::from(limit) + 1])?;
    let mut items = Vec::new();
    let mut next_cursor = after;
    let mut done = true;
    while let Some(row) = rows.next()? {
        if items.len() == limit as usize {
            done = false;
            break;
        }
        next_cursor = row.get::<_, i64>(0)? as u64;
        items.push(CatalogueProduct {
            gtin14: row.get(1)?,
            printed_code: row.get(2)?,
            name: row.get(3)?,
            brand: row.get(4)?,
            image_url: row.get(5)?,
        });
    }
    Ok(CataloguePage {
        items,
        next_cursor,
        done,
    })
}

/// Every product's GTIN-14 and name, sorted by GTIN-14: the stable order generated orders map
/// onto.
pub fn sorted(conn: &Connection) -> Result<Vec<(String, String)>> {
    let mut stmt = conn.prepare("SELECT gtin14, name FROM products ORDER BY gtin14")?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// The name of the product with `gtin14`, if central knows it.
pub fn name_of(conn: &Connection, gtin14: &str) -> Result<Option<String>> {
    use rusqlite::OptionalExtension;
    let mut stmt = conn.prepare_cached("SELECT name FROM products WHERE gtin14 = ?1")?;
    Ok(stmt.query_row([gtin14], |r| r.get(0)).optional()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db;

    fn product(gtin14: &str, name: &str) -> CatalogueProduct {
        CatalogueProduct {
            gtin14: gtin14.into(),
            printed_code: gtin14[1..].into(),
            name: name.into(),
            brand: None,
            image_url: None,
        }
    }

    #[test]
    fn the_feed_pages_by_cursor_and_a_changed_product_moves_to_the_end() {
        let dir = tempfile::tempdir().unwrap();
        let mut conn = db::open(&dir.path().join("c.sqlite3")).unwrap();
        let first = [
            product("04006381333931", "A"),
            product("00036000291452", "B"),
            product("00000096385074", "C"),
        ];
        let done = db::write(&mut conn, |tx| upsert(tx, &first)).unwrap();
        assert_eq!(
            done,
            Upserted {
                inserted: 3,
                updated: 0,
                unchanged: 0
            }
        );

        let page1 = page(&conn, 0, 2).unwrap();
        assert_eq!(page1.items.len(), 2);
        assert!(!page1.done);
        let page2 = page(&conn, page1.next_cursor, 2).unwrap();
        assert_eq!(page2.items.len(), 1);
        assert!(page2.done);
        let empty = page(&conn, page2.next_cursor, 2).unwrap();
        assert!(empty.items.is_empty() && empty.done);
        assert_eq!(
            empty.next_cursor, page2.next_cursor,
            "no news keeps the cursor"
        );

        let again = [
            product("04006381333931", "A"),
            product("00036000291452", "B2"),
        ];
        let done = db::write(&mut conn, |tx| upsert(tx, &again)).unwrap();
        assert_eq!(
            done,
            Upserted {
                inserted: 0,
                updated: 1,
                unchanged: 1
            }
        );
        let news = page(&conn, page2.next_cursor, 10).unwrap();
        assert_eq!(news.items, [product("00036000291452", "B2")]);
    }
}
