//! Import of the Open Food Facts catalogue from its MySQL dump files.
//!
//! Every row of every `INSERT INTO product` statement is either accepted as a product or
//! rejected with one [`RejectReason`]; accepted plus rejected always equals the rows seen. The
//! checks run in this order, and the first that fails names the row's reason:
//!
//! 1. the statement reads as SQL ([`sql`]); a broken statement rejects every row it had begun;
//! 2. the row has exactly one value per column. A row with fewer values lost one (usually the
//!    image) and every later value slid one column left, so no column of it can be trusted;
//! 3. the code is a GTIN by `storehand::gtin::Gtin`: digits only, 8/12/13/14 long, not all
//!    zeros, a correct check digit. It is keyed by its GTIN-14; the printed form is kept;
//! 4. the name is present (after trimming) and valid UTF-8;
//! 5. no earlier row of this import had the same GTIN-14 (the first one wins).
//!
//! An image that is not an `http(s)://` URL is dropped (and counted), the product kept. The
//! files hold no brand column; a `brands` or `brand` column is read when a dump has one.

pub mod sql;

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::Instant;

use rusqlite::Connection;
use serde::Serialize;
use storehand::contract::CatalogueProduct;
use storehand::gtin::{Gtin, GtinError};

use crate::catalogue::{self, Upserted};
use crate::db;
use crate::error::{Error, Result};
use sql::{Statement, Statements, Value};

/// Why a row was not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RejectReason {
    /// The statement holding the row is not valid SQL.
    MalformedStatement,
    /// Fewer values than columns: a value is missing and the later ones are shifted.
    ShortRow,
    /// More values than columns.
    LongRow,
    /// The code is NULL or empty.
    MissingCode,
    /// The code has something other than the digits 0-9.
    CodeNotDigits,
    /// The code is not 8, 12, 13 or 14 digits long.
    WrongLength,
    /// The code's last digit is not its GS1 check digit.
    BadCheckDigit,
    /// The code is all zeros.
    AllZeros,
    /// The name is NULL or blank.
    MissingName,
    /// The name is not valid UTF-8.
    NameNotUtf8,
    /// An earlier row of the same import had the same GTIN-14.
    DuplicateCode,
}

impl RejectReason {
    /// The reason as a person reads it.
    pub fn label(self) -> &'static str {
        match self {
            RejectReason::MalformedStatement => "malformed statement",
            RejectReason::ShortRow => "short row (values shifted)",
            RejectReason::LongRow => "long row",
            RejectReason::MissingCode => "missing code",
            RejectReason::CodeNotDigits => "code not digits",
            RejectReason::WrongLength => "wrong code length",
            RejectReason::BadCheckDigit => "bad check digit",
            RejectReason::AllZeros => "all-zero code",
            RejectReason::MissingName => "missing name",
            RejectReason::NameNotUtf8 => "name not UTF-8",
            RejectReason::DuplicateCode => "duplicate code",
        }
    }
}

/// One rejected row, kept as an example in the report.
#[derive(Debug, Clone, Serialize)]
pub struct Rejection {
    pub file: String,
    pub line: usize,
    pub reason: RejectReason,
    pub detail: String,
}

/// At most this many example rejections are kept for each reason.
const EXAMPLES_PER_REASON: usize = 3;

/// What reading the dump files found.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Reading {
    pub files: usize,
    /// `INSERT` statements into the product table.
    pub insert_statements: u64,
    /// Statements that are not product rows (`CREATE TABLE`, inserts into other tables).
    pub skipped_statements: u64,
    /// Statements that are neither readable nor an `INSERT` (their rows cannot be counted).
    pub unreadable_statements: u64,
    pub rows_seen: u64,
    pub accepted: u64,
    pub rejected: BTreeMap<RejectReason, u64>,
    /// Accepted products whose image value was not a URL and was left out.
    pub images_dropped: u64,
    pub examples: Vec<Rejection>,
}

impl Reading {
    pub fn rejected_total(&self) -> u64 {
        self.rejected.values().sum()
    }

    fn reject(
        &mut self,
        file: &str,
        src: &[u8],
        offset: usize,
        reason: RejectReason,
        detail: String,
    ) {
        let count = self.rejected.entry(reason).or_default();
        *count += 1;
        if *count as usize <= EXAMPLES_PER_REASON {
            let line = sql::line_of(src, offset);
            self.examples.push(Rejection {
                file: file.to_owned(),
                line,
                reason,
                detail,
            });
        }
    }
}

/// What an import did.
#[derive(Debug, Clone, Serialize)]
pub struct ImportReport {
    #[serde(flatten)]
    pub reading: Reading,
    #[serde(flatten)]
    pub upserted: Upserted,
    pub seconds: f64,
}

/// The `.sql` files named by `paths`: files as given, directories' `.sql` files by name.
///
/// # Failure
/// A refusal naming the first path that does not exist or a directory without `.sql` files.
pub fn collect_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>> {
    if paths.is_empty() {
        return Err(Error::invalid(
            "no_input",
            "name at least one .sql file or directory",
        ));
    }
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            let entries = std::fs::read_dir(path).map_err(|e| Error::io(path, e))?;
            let mut found: Vec<PathBuf> = entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.is_file() && p.extension().is_some_and(|x| x == "sql"))
                .collect();
            if found.is_empty() {
                return Err(Error::invalid(
                    "no_input",
                    format!("{} holds no .sql files", path.display()),
                ));
            }
            found.sort();
            files.extend(found);
        } else if path.is_file() {
            files.push(path.clone());
        } else {
            return Err(Error::invalid(
                "no_input",
                format!("{} is neither a file nor a directory", path.display()),
            ));
        }
    }
    Ok(files)
}

/// Reads the products of the dump `files`, in order, without touching any database.
///
/// # Failure
/// [`Error::Io`] when a file cannot be read; bad rows are never failures, they are counted.
pub fn read_files(files: &[PathBuf]) -> Result<(Vec<CatalogueProduct>, Reading)> {
    let mut reading = Reading::default();
    let mut products = Vec::new();
    let mut seen = HashSet::new();
    for file in files {
        let src = std::fs::read(file).map_err(|e| Error::io(file, e))?;
        let name = display_name(file);
        read_dump(&name, &src, &mut reading, &mut products, &mut seen);
        reading.files += 1;
    }
    debug_assert_eq!(
        reading.accepted + reading.rejected_total(),
        reading.rows_seen
    );
    Ok((products, reading))
}

/// Reads one dump's bytes, adding to `reading` and `products`; `seen` holds the GTIN-14s
/// accepted so far (as numbers).
pub fn read_dump(
    file: &str,
    src: &[u8],
    reading: &mut Reading,
    products: &mut Vec<CatalogueProduct>,
    seen: &mut HashSet<u64>,
) {
    for statement in Statements::new(src) {
        match statement {
            Statement::Insert(insert) => {
                if !matches!(insert.table.as_str(), "product" | "products") {
                    reading.skipped_statements += 1;
                    continue;
                }
                reading.insert_statements += 1;
                let columns = match Columns::find(&insert.columns) {
                    Ok(columns) => columns,
                    Err(detail) => {
                        for row in &insert.rows {
                            reading.rows_seen += 1;
                            let reason = RejectReason::MalformedStatement;
                            reading.reject(file, src, row.offset, reason, detail.clone());
                        }
                        continue;
                    }
                };
                for row in &insert.rows {
                    reading.rows_seen += 1;
                    match columns.product(&row.values, seen) {
                        Ok((product, image_dropped)) => {
                            reading.accepted += 1;
                            reading.images_dropped += u64::from(image_dropped);
                            products.push(product);
                        }
                        Err((reason, detail)) => {
                            reading.reject(file, src, row.offset, reason, detail)
                        }
                    }
                }
            }
            Statement::Other { .. } => reading.skipped_statements += 1,
            Statement::Malformed {
                offset,
                rows_begun,
                reason,
            } => {
                if rows_begun == 0 {
                    reading.unreadable_statements += 1;
                    let line = sql::line_of(src, offset);
                    tracing::warn!(file, line, %reason, "unreadable statement");
                    continue;
                }
                reading.insert_statements += 1;
                for _ in 0..rows_begun {
                    reading.rows_seen += 1;
                    let kind = RejectReason::MalformedStatement;
                    reading.reject(file, src, offset, kind, reason.clone());
                }
            }
        }
    }
}

/// Where the columns a product needs sit in an `INSERT`'s column list.
struct Columns {
    count: usize,
    code: usize,
    name: usize,
    image: Option<usize>,
    brand: Option<usize>,
}

impl Columns {
    fn find(columns: &[String]) -> Result<Columns, String> {
        let find = |names: &[&str]| columns.iter().position(|c| names.contains(&c.as_str()));
        let code = find(&["barcode_id", "code", "barcode"])
            .ok_or("the statement has no barcode_id column")?;
        let name = find(&["product_name"]).ok_or("the statement has no product_name column")?;
        Ok(Columns {
            count: columns.len(),
            code,
            name,
            image: find(&["product_image", "image_url"]),
            brand: find(&["brands", "brand"]),
        })
    }

    /// The product of one row, and whether its image was dropped; or why the row is rejected.
    fn product(
        &self,
        values: &[Value<'_>],
        seen: &mut HashSet<u64>,
    ) -> Result<(CatalogueProduct, bool), (RejectReason, String)> {
        if values.len() < self.count {
            return Err((
                RejectReason::ShortRow,
                format!("{} values for {} columns", values.len(), self.count),
            ));
        }
        if values.len() > self.count {
            return Err((
                RejectReason::LongRow,
                format!("{} values for {} columns", values.len(), self.count),
            ));
        }

        let code = match &values[self.code] {
            Value::Null => None,
            Value::Text(bytes) => Some(bytes.as_ref()),
            Value::Bare(bytes) => Some(*bytes),
        };
        let code = match code {
            None | Some(b"") => return Err((RejectReason::MissingCode, "no code".into())),
            Some(bytes) => String::from_utf8_lossy(bytes),
        };
        let gtin = Gtin::parse(&code).map_err(|err| {
            let reason = match err {
                GtinError::NotDigits(_) => RejectReason::CodeNotDigits,
                GtinError::BadLength { .. } => RejectReason::WrongLength,
                GtinError::BadCheckDigit { .. } => RejectReason::BadCheckDigit,
                GtinError::AllZeros(_) => RejectReason::AllZeros,
            };
            (reason, err.to_string())
        })?;

        let name = match text(&values[self.name]) {
            Err(()) => {
                let detail = format!("the name of {} is not UTF-8", gtin.printed());
                return Err((RejectReason::NameNotUtf8, detail));
            }
            Ok(None) => {
                let detail = format!("{} has no name", gtin.printed());
                return Err((RejectReason::MissingName, detail));
            }
            Ok(Some(name)) => name,
        };

        // GTIN-14s are at most 14 digits, so they fit a u64 exactly.
        let key: u64 = gtin.gtin14().parse().expect("a GTIN-14 is 14 digits");
        if !seen.insert(key) {
            let detail = format!(
                "{} (GTIN-14 {}) appeared earlier",
                gtin.printed(),
                gtin.gtin14()
            );
            return Err((RejectReason::DuplicateCode, detail));
        }

        let image = self
            .image
            .map(|i| text(&values[i]))
            .and_then(Result::ok)
            .flatten();
        let image_dropped = image
            .as_ref()
            .is_some_and(|url| !(url.starts_with("https://") || url.starts_with("http://")));
        let image_url = if image_dropped { None } else { image };
        let brand = self
            .brand
            .map(|i| text(&values[i]))
            .and_then(Result::ok)
            .flatten();
        let product = CatalogueProduct {
            gtin14: gtin.gtin14().to_owned(),
            printed_code: gtin.printed().to_owned(),
            name,
            brand,
            image_url,
        };
        Ok((product, image_dropped))
    }
}

/// A value as trimmed text: `Ok(None)` for NULL or blank, `Err` when not UTF-8.
fn text(value: &Value<'_>) -> Result<Option<String>, ()> {
    let bytes: &[u8] = match value {
        Value::Null => return Ok(None),
        Value::Text(bytes) => bytes,
        Value::Bare(bytes) => bytes,
    };
    let text = std::str::from_utf8(bytes).map_err(|_| ())?.trim();
    Ok((!text.is_empty()).then(|| text.to_owned()))
}

/// Imports the dump files named by `paths` into the catalogue, all in one transaction.
///
/// # Failure
/// A refusal for a missing path (before anything is read), [`Error::Io`] for an unreadable
/// file, [`Error::Storage`] when the database fails; in every case the catalogue is unchanged.
pub fn import(conn: &mut Connection, paths: &[PathBuf]) -> Result<ImportReport> {
    let started = Instant::now();
    let files = collect_files(paths)?;
    let (products, reading) = read_files(&files)?;
    let upserted = db::write(conn, |tx| catalogue::upsert(tx, &products))?;
    let report = ImportReport {
        reading,
        upserted,
        seconds: started.elapsed().as_secs_f64(),
    };
    tracing::info!(
        files = report.reading.files,
        rows = report.reading.rows_seen,
        accepted = report.reading.accepted,
        rejected = report.reading.rejected_total(),
        inserted = report.upserted.inserted,
        updated = report.upserted.updated,
        seconds = report.seconds,
        "catalogue imported"
    );
    Ok(report)
}

/// The file name of `path` for messages.
pub fn display_name(path: &Path) -> String {
    path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(sql: &str) -> (Vec<CatalogueProduct>, Reading) {
        let mut reading = Reading::default();
        let mut products = Vec::new();
        read_dump(
            "test.sql",
            sql.as_bytes(),
            &mut reading,
            &mut products,
            &mut HashSet::new(),
        );
        (products, reading)
    }

    const HEADER: &str =
        "INSERT INTO product (barcode_id, product_name, ingredients, product_image, fat_amount)\n";

    #[test]
    fn a_good_row_becomes_a_product_keyed_by_gtin14_with_its_printed_code() {
        let sql = format!(
            "{HEADER}VALUES ('0036000291452', 'Pistou d\\'ail des ours', '', \
             'https://static.openfoodfacts.org/x.jpg', '7');\n"
        );
        let (products, reading) = read(&sql);
        assert_eq!(reading.accepted, 1);
        assert_eq!(products[0].gtin14, "00036000291452");
        assert_eq!(products[0].printed_code, "0036000291452");
        assert_eq!(products[0].name, "Pistou d'ail des ours");
        assert_eq!(
            products[0].image_url.as_deref(),
            Some("https://static.openfoodfacts.org/x.jpg")
        );
    }

    #[test]
    fn a_short_row_is_rejected_and_none_of_its_shifted_values_are_read() {
        // The image is missing, so '7' (the fat amount) sits where the image should be.
        let sql = format!("{HEADER}VALUES ('0036000291452', 'Cola', '', '7');\n");
        let (products, reading) = read(&sql);
        assert!(products.is_empty());
        assert_eq!(reading.rejected.get(&RejectReason::ShortRow), Some(&1));
        assert_eq!(reading.examples[0].detail, "4 values for 5 columns");
    }

    #[test]
    fn every_row_is_accepted_or_rejected_with_its_reason() {
        let rows = [
            "('10', 'Short code', '', '', '')",
            "('4006381333932', 'Bad check', '', '', '')",
            "('00000000', 'Zeros', '', '', '')",
            "('40063813339X1', 'Letters', '', '', '')",
            "('', 'No code', '', '', '')",
            "(NULL, 'Null code', '', '', '')",
            "('4006381333931', '  ', '', '', '')",
            "('4006381333931', 'Kept', '', 'not-a-url', '')",
            "('04006381333931', 'Same GTIN-14', '', '', '')",
            "('96385074', 'Extra', '', '', '', '')",
        ];
        let sql = format!(
            "{HEADER}VALUES {};\n{HEADER}VALUES ('1', 'x' 7);\n",
            rows.join(",\n")
        );
        let (products, reading) = read(&sql);
        let count = |r| reading.rejected.get(&r).copied().unwrap_or(0);
        assert_eq!(reading.rows_seen, 11);
        assert_eq!(reading.accepted, 1);
        assert_eq!(products[0].name, "Kept");
        assert_eq!(
            products[0].image_url, None,
            "a value that is not a URL is no image"
        );
        assert_eq!(reading.images_dropped, 1);
        assert_eq!(count(RejectReason::WrongLength), 1);
        assert_eq!(count(RejectReason::BadCheckDigit), 1);
        assert_eq!(count(RejectReason::AllZeros), 1);
        assert_eq!(count(RejectReason::CodeNotDigits), 1);
        assert_eq!(count(RejectReason::MissingCode), 2);
        assert_eq!(count(RejectReason::MissingName), 1);
        assert_eq!(count(RejectReason::DuplicateCode), 1);
        assert_eq!(count(RejectReason::LongRow), 1);
        assert_eq!(count(RejectReason::MalformedStatement), 1);
        assert_eq!(
            reading.accepted + reading.rejected_total(),
            reading.rows_seen
        );
    }

    #[test]
    fn an_insert_without_a_code_column_rejects_its_rows_as_malformed() {
        let (_, reading) = read("INSERT INTO product (product_name) VALUES ('a'), ('b');");
        assert_eq!(
            reading.rejected.get(&RejectReason::MalformedStatement),
            Some(&2)
        );
        assert_eq!(
            reading.examples[0].detail,
            "the statement has no barcode_id column"
        );
    }

    #[test]
    fn inserts_into_other_tables_and_ddl_are_skipped_not_counted_as_rows() {
        let sql = "CREATE TABLE product (id int);\nINSERT INTO users (name) VALUES ('x');\n";
        let (_, reading) = read(sql);
        assert_eq!(reading.rows_seen, 0);
        assert_eq!(reading.skipped_statements, 2);
    }
}
