//! Conversion of the Olist marketplace dataset into orders for a test store.
//!
//! Olist's licence (CC BY-NC-SA 4.0) forbids shipping its rows, so this module reads the real
//! files at run time and nothing derived from them is ever written into the repository.
//!
//! The orders file gives each order's customer, status and purchase time; the order-items file
//! (whose CSV quoting varies from field to field; the `csv` reader handles every variant) gives
//! its lines. Each order becomes an `order_created` entry:
//! - lines: one per distinct Olist product, quantity = how many items of it the order has,
//!   `line_id` = its first item number. The Olist product id is mapped onto an accepted
//!   catalogue GTIN by FNV-1a of the id, modulo the catalogue sorted by GTIN-14, so the same
//!   catalogue always gives the same mapping. Two products that land on one GTIN share a line.
//! - customer: a pseudonym drawn from made-up first and last names by the customer id's hash;
//!   no personal data.
//! - pickup code: [`PickupCode::derive`] of the platform order id (`olist-<order id>`).
//! - `placed_at`: the purchase time, `m/d/yyyy H:MM` in the files, written in RFC 3339 at
//!   UTC-03:00, São Paulo's standard offset (the files carry no zone).
//!
//! An order with status `canceled` or `unavailable` is followed by an `order_cancelled` entry,
//! at its latest lifecycle time. Orders without lines, and rows that cannot be read, are
//! skipped and counted by reason. The output is a pure function of the files and the
//! catalogue: the same input gives byte-identical output.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use rusqlite::Connection;
use serde::Serialize;
use storehand::contract::{FeedBody, Fulfilment, OrderLineSpec, OrderSpec};

use crate::catalogue;
use crate::error::{Error, Result};
use crate::pickup::PickupCode;
use crate::rng::{SplitMix64, fnv1a64};
use crate::stores;
use storehand::time;

pub const ORDERS_FILE: &str = "olist_orders_dataset.csv";
pub const ITEMS_FILE: &str = "olist_order_items_dataset.csv";

/// Why an Olist order was not converted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SkipReason {
    /// The order has no row in the order-items file.
    NoLines,
    /// The row's purchase time is not `m/d/yyyy H:MM`.
    BadTimestamp,
    /// The row is not valid CSV or misses a field.
    UnreadableRow,
}

impl SkipReason {
    pub fn label(self) -> &'static str {
        match self {
            SkipReason::NoLines => "no order lines",
            SkipReason::BadTimestamp => "unreadable purchase time",
            SkipReason::UnreadableRow => "unreadable row",
        }
    }
}

/// Counts of a conversion.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Conversion {
    pub orders_seen: u64,
    /// Converted orders by Olist status.
    pub converted: BTreeMap<String, u64>,
    /// `order_cancelled` entries written (for `canceled` and `unavailable` orders).
    pub cancelled: u64,
    /// Skipped orders by reason, then by Olist status.
    pub skipped: BTreeMap<SkipReason, BTreeMap<String, u64>>,
    pub item_rows: u64,
    /// Item rows that could not be read.
    pub unreadable_item_rows: u64,
    /// Item rows whose order is not in the orders file.
    pub items_of_unknown_orders: u64,
    pub lines_written: u64,
}

impl Conversion {
    pub fn converted_total(&self) -> u64 {
        self.converted.values().sum()
    }

    pub fn skipped_total(&self) -> u64 {
        self.skipped.values().flat_map(BTreeMap::values).sum()
    }
}

/// One item row: the order's product and its item number.
struct Item {
    item_number: u32,
    product_id: String,
}

/// Converts the Olist files in `dir` into feed entries for `store_id`, using the catalogue of
/// `conn`.
///
/// # Failure
/// A refusal when the store does not exist, the catalogue is empty, or a file lacks a needed
/// column; [`Error::Io`] when a file cannot be read.
pub fn convert(
    dir: &Path,
    conn: &Connection,
    store_id: &str,
) -> Result<(Vec<FeedBody>, Conversion)> {
    stores::require(conn, store_id)?;
    let products = catalogue::sorted(conn)?;
    if products.is_empty() {
        return Err(Error::invalid(
            "empty_catalogue",
            "the catalogue is empty; import Open Food Facts (import-off) or seed the demo first",
        ));
    }
    let mut report = Conversion::default();
    let items = read_items(&dir.join(ITEMS_FILE), &mut report)?;

    let path = dir.join(ORDERS_FILE);
    let mut reader = csv_reader(&path)?;
    let headers = reader.headers().map_err(|e| csv_error(&path, e))?.clone();
    let column = |name: &str| column(&headers, name, &path);
    let (id_col, customer_col, status_col, purchase_col) = (
        column("order_id")?,
        column("customer_id")?,
        column("order_status")?,
        column("order_purchase_timestamp")?,
    );
    let lifecycle: Vec<usize> = [
        "order_approved_at",
        "order_delivered_carrier_date",
        "order_delivered_customer_date",
    ]
    .iter()
    .filter_map(|name| headers.iter().position(|h| h == *name))
    .collect();

    let mut known_orders = std::collections::HashSet::new();
    let mut entries = Vec::new();
    for record in reader.records() {
        report.orders_seen += 1;
        let skip = |report: &mut Conversion, reason, status: &str| {
            *report
                .skipped
                .entry(reason)
                .or_default()
                .entry(status.to_owned())
                .or_default() += 1;
        };
        let Ok(record) = record else {
            skip(&mut report, SkipReason::UnreadableRow, "unknown");
            continue;
        };
        let field = |i: usize| record.get(i).map(str::trim).filter(|v| !v.is_empty());
        let (Some(order_id), Some(customer_id), Some(status)) =
            (field(id_col), field(customer_col), field(status_col))
        else {
            skip(
                &mut report,
                SkipReason::UnreadableRow,
                field(status_col).unwrap_or("unknown"),
            );
            continue;
        };
        known_orders.insert(order_id.to_owned());
        let Some(placed) = field(purchase_col).and_then(OlistTime::parse) else {
            skip(&mut report, SkipReason::BadTimestamp, status);
            continue;
        };
        let Some(order_items) = items.get(order_id) else {
            skip(&mut report, SkipReason::NoLines, status);
            continue;
        };

        let lines = lines(order_items, &products);
        report.lines_written += lines.len() as u64;
        let platform_order_id = format!("olist-{order_id}");
        let order = OrderSpec {
            order_number: format!("OL-{}", order_id[..8.min(order_id.len())].to_uppercase()),
            store_id: store_id.to_owned(),
            fulfilment: Fulfilment::Bopis,
            customer_name: pseudonym(customer_id),
            pickup_code: PickupCode::derive(&platform_order_id).to_string(),
            placed_at: placed.rfc3339(),
            lines,
            platform_order_id: platform_order_id.clone(),
        };
        entries.push(FeedBody::OrderCreated { order });
        *report.converted.entry(status.to_owned()).or_default() += 1;

        if matches!(status, "canceled" | "unavailable") {
            let at = lifecycle
                .iter()
                .filter_map(|&i| field(i).and_then(OlistTime::parse))
                .chain([placed])
                .max()
                .unwrap_or(placed);
            entries.push(FeedBody::OrderCancelled {
                platform_order_id: platform_order_id.clone(),
                cancel_id: format!("{platform_order_id}-cancel"),
                reason: format!("the marketplace marked the order {status}"),
                at: at.rfc3339(),
            });
            report.cancelled += 1;
        }
    }
    report.items_of_unknown_orders = items
        .iter()
        .filter(|(order, _)| !known_orders.contains(*order))
        .map(|(_, rows)| rows.len() as u64)
        .sum();
    tracing::info!(
        seen = report.orders_seen,
        converted = report.converted_total(),
        cancelled = report.cancelled,
        skipped = report.skipped_total(),
        "olist converted"
    );
    Ok((entries, report))
}

/// The order lines of `items`, mapped onto `products` (sorted by GTIN-14).
fn lines(items: &[Item], products: &[(String, String)]) -> Vec<OrderLineSpec> {
    // Per distinct product: its first item number and its item count, in item order.
    let mut per_product: Vec<(&str, u32, u32)> = Vec::new();
    for item in items {
        match per_product
            .iter_mut()
            .find(|(id, _, _)| *id == item.product_id)
        {
            Some((_, first, count)) => {
                *first = (*first).min(item.item_number);
                *count += 1;
            }
            None => per_product.push((&item.product_id, item.item_number, 1)),
        }
    }
    per_product.sort_by_key(|&(_, first, _)| first);
    let mut lines: Vec<OrderLineSpec> = Vec::new();
    for (product_id, first, count) in per_product {
        let index = (fnv1a64(product_id.as_bytes()) % products.len() as u64) as usize;
        let (gtin14, name) = &products[index];
        match lines.iter_mut().find(|l| l.gtin14 == *gtin14) {
            Some(line) => line.quantity += count,
            None => lines.push(OrderLineSpec {
                line_id: first.to_string(),
                gtin14: gtin14.clone(),
                name: name.clone(),
                quantity: count,
            }),
        }
    }
    lines
}

fn read_items(path: &Path, report: &mut Conversion) -> Result<HashMap<String, Vec<Item>>> {
    let mut reader = csv_reader(path)?;
    let headers = reader.headers().map_err(|e| csv_error(path, e))?.clone();
    let (order_col, item_col, product_col) = (
        column(&headers, "order_id", path)?,
        column(&headers, "order_item_id", path)?,
        column(&headers, "product_id", path)?,
    );
    let mut items: HashMap<String, Vec<Item>> = HashMap::new();
    for record in reader.records() {
        report.item_rows += 1;
        let parsed = record.ok().and_then(|r| {
            let order = r.get(order_col)?.trim().to_owned();
            let item_number = r.get(item_col)?.trim().parse().ok()?;
            let product_id = r.get(product_col)?.trim().to_owned();
            (!order.is_empty() && !product_id.is_empty()).then_some((
                order,
                Item {
                    item_number,
                    product_id,
                },
            ))
        });
        match parsed {
            Some((order, item)) => items.entry(order).or_default().push(item),
            None => report.unreadable_item_rows += 1,
        }
    }
    Ok(items)
}

fn csv_reader(path: &Path) -> Result<csv::Reader<std::fs::File>> {
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    // `flexible`: a row with a missing or extra field is skipped and counted, not fatal.
    Ok(csv::ReaderBuilder::new().flexible(true).from_reader(file))
}

fn csv_error(path: &Path, err: csv::Error) -> Error {
    Error::invalid("unreadable_csv", format!("{}: {err}", path.display()))
}

fn column(headers: &csv::StringRecord, name: &str, path: &Path) -> Result<usize> {
    headers
        .iter()
        .position(|h| h.trim() == name)
        .ok_or_else(|| {
            Error::invalid(
                "unreadable_csv",
                format!(
                    "{} has no {name} column; is it the Olist file?",
                    path.display()
                ),
            )
        })
}

/// A minute-precision local time from the Olist files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct OlistTime {
    year: i64,
    month: u32,
    day: u32,
    hour: u32,
    minute: u32,
}

impl OlistTime {
    /// Reads `m/d/yyyy H:MM`.
    fn parse(text: &str) -> Option<OlistTime> {
        let (date, time) = text.split_once(' ')?;
        let mut date = date.split('/');
        let (month, day, year) = (date.next()?, date.next()?, date.next()?);
        let (hour, minute) = time.split_once(':')?;
        let digits = |s: &str, max_len: usize| {
            (!s.is_empty() && s.len() <= max_len && s.bytes().all(|b| b.is_ascii_digit()))
                .then(|| s.parse::<u32>().ok())
                .flatten()
        };
        let t = OlistTime {
            month: digits(month, 2)?,
            day: digits(day, 2)?,
            year: i64::from(digits(year, 4).filter(|_| year.len() == 4)?),
            hour: digits(hour, 2)?,
            minute: digits(minute, 2).filter(|_| minute.len() == 2)?,
        };
        let valid = date.next().is_none()
            && (1..=12).contains(&t.month)
            && t.day >= 1
            && i64::from(t.day) <= time::days_in_month(t.year, t.month)
            && t.hour < 24
            && t.minute < 60;
        valid.then_some(t)
    }

    fn rfc3339(self) -> String {
        format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:00-03:00",
            self.year, self.month, self.day, self.hour, self.minute
        )
    }
}

/// A made-up name for a customer id: the same id always gets the same name.
pub fn pseudonym(customer_id: &str) -> String {
    const FIRST: &[&str] = &[
        "Alex", "Bia", "Caio", "Dani", "Edu", "Fabi", "Gabi", "Hugo", "Iara", "Joca", "Kiko",
        "Lia", "Malu", "Nina", "Otto", "Pipa", "Quim", "Rafa", "Sol", "Tati", "Vavá", "Zeca",
    ];
    const LAST: &[&str] = &[
        "Amarelo",
        "Brisa",
        "Cajueiro",
        "Duna",
        "Estrela",
        "Figueira",
        "Garoa",
        "Ipê",
        "Jacarandá",
        "Lagoa",
        "Maré",
        "Neblina",
        "Orvalho",
        "Pitanga",
        "Quaresma",
        "Restinga",
        "Sabiá",
        "Tucano",
        "Urucum",
        "Vento",
    ];
    let mut rng = SplitMix64::from_text(&format!("customer:{customer_id}"));
    let first = FIRST[rng.below(FIRST.len() as u64) as usize];
    let last = LAST[rng.below(LAST.len() as u64) as usize];
    format!("{first} {last}")
}

/// Writes `entries` as JSON Lines.
pub fn write_jsonl(out: &mut impl std::io::Write, entries: &[FeedBody]) -> std::io::Result<()> {
    for entry in entries {
        serde_json::to_writer(&mut *out, entry)?;
        out.write_all(b"\n")?;
    }
    out.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn olist_times_become_rfc3339_at_sao_paulo_offset() {
        let t = OlistTime::parse("10/2/2017 10:56").unwrap();
        assert_eq!(t.rfc3339(), "2017-10-02T10:56:00-03:00");
        assert_eq!(
            OlistTime::parse("1/31/2018 0:05").unwrap().rfc3339(),
            "2018-01-31T00:05:00-03:00"
        );
        assert!(time::parse_rfc3339(&t.rfc3339()).is_ok());
    }

    #[test]
    fn impossible_or_misshapen_olist_times_are_refused() {
        for bad in [
            "2/30/2018 10:00",
            "13/1/2018 10:00",
            "10/2/17 10:56",
            "10/2/2017 24:00",
            "10/2/2017 10:5",
            "10/2/2017",
            "2017-10-02 10:56:00",
        ] {
            assert_eq!(OlistTime::parse(bad), None, "{bad} should be refused");
        }
    }

    #[test]
    fn pseudonyms_are_stable_and_vary_between_customers() {
        assert_eq!(pseudonym("9ef432eb"), pseudonym("9ef432eb"));
        let names: std::collections::HashSet<String> = (0..50)
            .map(|i| pseudonym(&format!("customer-{i}")))
            .collect();
        assert!(
            names.len() > 30,
            "50 customers got only {} names",
            names.len()
        );
    }

    #[test]
    fn repeated_products_become_one_line_with_their_item_count() {
        let products = vec![("04006381333931".to_owned(), "Pencil".to_owned())];
        let items = [
            Item {
                item_number: 2,
                product_id: "p1".into(),
            },
            Item {
                item_number: 1,
                product_id: "p1".into(),
            },
            Item {
                item_number: 3,
                product_id: "p1".into(),
            },
        ];
        let lines = lines(&items, &products);
        assert_eq!(lines.len(), 1);
        assert_eq!((lines[0].line_id.as_str(), lines[0].quantity), ("1", 3));
    }
}
