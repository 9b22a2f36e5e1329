//! The demo store: a small, real catalogue sample, three associates, stock and BOPIS orders,
//! all deterministic, so every machine seeds the same store.
//!
//! The catalogue sample (`central/demo/catalogue.csv`, compiled into the binary) is made by
//! [`sample`] from the real Open Food Facts dump: the accepted products ordered by FNV-1a of
//! `sample:<GTIN-14>` (which scatters the pick across every file of the dump), the first
//! [`SAMPLE_SIZE`] kept, written sorted by GTIN-14 with only code, name and image URL. See
//! `central/demo/README.md` for its licence (ODbL 1.0).
//!
//! Orders come from a SplitMix64 generator with a fixed seed, relative to the fixed instant
//! [`DEMO_NOW`]: [`DEMO_ORDERS`] BOPIS orders of 1-4 lines and 1-3 units each, placed over the
//! three days before it, with made-up customer names; the last [`DEMO_CANCELLED`] of them are
//! then cancelled. Seeding is idempotent: whatever is already in place is left alone, and a
//! second run writes nothing.

use std::collections::HashMap;

use rusqlite::Connection;
use storehand::contract::{
    CatalogueProduct, FeedBody, Fulfilment, OrderLineSpec, OrderSpec, Role, StockLevel,
};
use storehand::gtin::Gtin;

use crate::catalogue::{self, Upserted};
use crate::db;
use crate::error::{Error, Result};
use crate::orders::{self, Loaded};
use crate::pickup::PickupCode;
use crate::rng::{SplitMix64, fnv1a64};
use crate::stores::{self, AssociateChange};
use storehand::time;

/// The demo catalogue sample, as shipped.
pub const SAMPLE_CSV: &str = include_str!("../demo/catalogue.csv");
/// How many products the sample holds.
pub const SAMPLE_SIZE: usize = 1500;
/// The store `seed-demo` builds unless told otherwise.
pub const DEMO_STORE: &str = "demo-store";
/// Demo orders are placed in the three days before this instant.
pub const DEMO_NOW: &str = "2026-12-01T18:00:00Z";
/// Orders generated, the cancelled ones included.
pub const DEMO_ORDERS: usize = 26;
/// How many of the last orders are cancelled.
pub const DEMO_CANCELLED: usize = 2;
/// The order generator's seed.
const ORDER_SEED: u64 = 0x5709_e4a4_d0de_2026;

/// The demo associates: staff id, name, role, PIN. Demo only: `central/demo/README.md` lists
/// them, so nobody may use them for a real store.
pub const ASSOCIATES: [(&str, &str, Role, &str); 3] = [
    ("1001", "Ana Souza", Role::Associate, "1234"),
    ("1002", "Ben Okafor", Role::Associate, "2345"),
    ("2001", "Maria Lopez", Role::Manager, "9876"),
];

/// Picks `count` products of `products` for the sample, sorted by GTIN-14.
pub fn sample(products: &[CatalogueProduct], count: usize) -> Vec<CatalogueProduct> {
    let mut keyed: Vec<(u64, &CatalogueProduct)> = products
        .iter()
        .map(|p| (fnv1a64(format!("sample:{}", p.gtin14).as_bytes()), p))
        .collect();
    keyed.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.gtin14.cmp(&b.1.gtin14)));
    let mut picked: Vec<CatalogueProduct> = keyed
        .into_iter()
        .take(count)
        .map(|(_, p)| CatalogueProduct {
            gtin14: p.gtin14.clone(),
            printed_code: p.printed_code.clone(),
            name: p.name.clone(),
            brand: None,
            image_url: p.image_url.clone(),
        })
        .collect();
    picked.sort_by(|a, b| a.gtin14.cmp(&b.gtin14));
    picked
}

/// Writes `products` as the sample CSV: `code,name,image_url`, code as printed.
pub fn write_sample(out: impl std::io::Write, products: &[CatalogueProduct]) -> Result<()> {
    let mut writer = csv::Writer::from_writer(out);
    let fail = |e: csv::Error| Error::Internal(format!("writing the sample failed: {e}"));
    writer
        .write_record(["code", "name", "image_url"])
        .map_err(fail)?;
    for p in products {
        let image = p.image_url.as_deref().unwrap_or("");
        writer
            .write_record([p.printed_code.as_str(), p.name.as_str(), image])
            .map_err(fail)?;
    }
    writer
        .flush()
        .map_err(|e| Error::Internal(format!("writing the sample failed: {e}")))
}

/// Reads a sample CSV back into products.
///
/// # Failure
/// A refusal naming the first row whose code is not a GTIN or whose name is empty.
pub fn read_sample(csv_text: &str) -> Result<Vec<CatalogueProduct>> {
    let mut reader = csv::Reader::from_reader(csv_text.as_bytes());
    let mut products = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let row = i + 2;
        let bad =
            |why: String| Error::invalid("invalid_sample", format!("sample row {row}: {why}"));
        let record = record.map_err(|e| bad(e.to_string()))?;
        let (Some(code), Some(name), image) = (record.get(0), record.get(1), record.get(2)) else {
            return Err(bad("expected code,name,image_url".into()));
        };
        let gtin = Gtin::parse(code).map_err(|e| bad(e.to_string()))?;
        if name.trim().is_empty() {
            return Err(bad("the name is empty".into()));
        }
        products.push(CatalogueProduct {
            gtin14: gtin.gtin14().to_owned(),
            printed_code: gtin.printed().to_owned(),
            name: name.to_owned(),
            brand: None,
            image_url: image.filter(|url| !url.is_empty()).map(str::to_owned),
        });
    }
    Ok(products)
}

/// The demo orders of `store_id` over `products`, as feed entries: every `order_created`
/// first, then the cancellations.
pub fn demo_entries(store_id: &str, products: &[CatalogueProduct]) -> Result<Vec<FeedBody>> {
    const FIRST: &[&str] = &[
        "Aiko", "Bruno", "Chidi", "Dana", "Elif", "Farah", "Goran", "Hana", "Ines", "Jonas",
        "Kemi", "Luca", "Mira", "Nils", "Olga", "Pavel", "Rina", "Sami", "Tove", "Yusuf",
    ];
    const LAST: &[&str] = &[
        "Andersen",
        "Baptiste",
        "Castell",
        "Dimitrov",
        "Eklund",
        "Ferreira",
        "Grünwald",
        "Halvorsen",
        "Ibarra",
        "Jovanović",
        "Kowalczyk",
        "Lindqvist",
        "Moreau",
        "Novak",
        "Okonkwo",
        "Petrenko",
        "Quintero",
        "Rossi",
        "Sato",
        "Van Dijk",
    ];
    if products.len() < 4 {
        return Err(Error::invalid(
            "empty_catalogue",
            "the demo needs at least 4 products",
        ));
    }
    let now = time::parse_rfc3339(DEMO_NOW).map_err(|e| Error::Internal(e.to_string()))?;
    let mut rng = SplitMix64::new(ORDER_SEED);
    let mut created = Vec::new();
    let mut cancelled = Vec::new();
    for i in 0..DEMO_ORDERS {
        let number = format!("D-{}", 10_001 + i);
        let platform_order_id = format!("{store_id}-{number}");
        let mut chosen: Vec<usize> = Vec::new();
        let line_count = rng.between(1, 4) as usize;
        while chosen.len() < line_count {
            let index = rng.below(products.len() as u64) as usize;
            if !chosen.contains(&index) {
                chosen.push(index);
            }
        }
        let lines = chosen
            .iter()
            .enumerate()
            .map(|(n, &index)| OrderLineSpec {
                line_id: (n + 1).to_string(),
                gtin14: products[index].gtin14.clone(),
                name: products[index].name.clone(),
                quantity: rng.between(1, 3) as u32,
            })
            .collect();
        let customer_name = format!(
            "{} {}",
            FIRST[rng.below(FIRST.len() as u64) as usize],
            LAST[rng.below(LAST.len() as u64) as usize]
        );
        // Oldest first, about 2¾ hours apart, jittered by up to 40 minutes.
        let minutes_before = (DEMO_ORDERS - i) as i64 * 165 - rng.between(0, 40) as i64;
        let placed_ms = now - minutes_before * 60_000;
        let order = OrderSpec {
            platform_order_id: platform_order_id.clone(),
            order_number: number,
            store_id: store_id.to_owned(),
            fulfilment: Fulfilment::Bopis,
            customer_name,
            pickup_code: PickupCode::derive(&platform_order_id).to_string(),
            placed_at: time::format_utc_ms(placed_ms),
            lines,
        };
        if i >= DEMO_ORDERS - DEMO_CANCELLED {
            let reason = if i % 2 == 0 {
                "the customer cancelled online"
            } else {
                "the payment was declined"
            };
            cancelled.push(FeedBody::OrderCancelled {
                platform_order_id: platform_order_id.clone(),
                cancel_id: format!("{platform_order_id}-cancel"),
                reason: reason.into(),
                at: time::format_utc_ms(placed_ms + 25 * 60_000),
            });
        }
        created.push(FeedBody::OrderCreated { order });
    }
    created.extend(cancelled);
    Ok(created)
}

/// Stock for every product: a level of 0 to 24 from the hash of its GTIN-14, raised to what
/// the open demo orders need.
pub fn stock_levels(products: &[CatalogueProduct], entries: &[FeedBody]) -> Vec<StockLevel> {
    let cancelled: Vec<&str> = entries
        .iter()
        .filter_map(|e| match e {
            FeedBody::OrderCancelled {
                platform_order_id, ..
            } => Some(platform_order_id.as_str()),
            FeedBody::OrderCreated { .. } => None,
        })
        .collect();
    let mut needed: HashMap<&str, i64> = HashMap::new();
    for entry in entries {
        if let FeedBody::OrderCreated { order } = entry
            && !cancelled.contains(&order.platform_order_id.as_str())
        {
            for line in &order.lines {
                *needed.entry(line.gtin14.as_str()).or_default() += i64::from(line.quantity);
            }
        }
    }
    products
        .iter()
        .map(|p| {
            let base = (fnv1a64(format!("stock:{}", p.gtin14).as_bytes()) % 25) as i64;
            let need = needed.get(p.gtin14.as_str()).copied().unwrap_or(0);
            StockLevel {
                gtin14: p.gtin14.clone(),
                on_hand: base.max(need),
            }
        })
        .collect()
}

/// What seeding did.
#[derive(Debug, Clone)]
pub struct Seeded {
    pub store_id: String,
    pub catalogue: Upserted,
    pub store_created: bool,
    pub associates: Vec<(&'static str, AssociateChange)>,
    pub stock_levels: usize,
    pub stock_replaced: bool,
    pub orders: Loaded,
}

impl Seeded {
    /// Whether this run wrote anything.
    pub fn changed(&self) -> bool {
        self.catalogue.inserted + self.catalogue.updated > 0
            || self.store_created
            || self
                .associates
                .iter()
                .any(|(_, c)| *c != AssociateChange::Unchanged)
            || self.stock_replaced
            || self.orders.created + self.orders.cancelled > 0
    }
}

/// Builds (or confirms) the demo store `store_id`, all in one transaction.
///
/// # Failure
/// A refusal for an invalid store id, or when an order id the demo uses already exists with
/// other content; nothing is written then.
pub fn seed(conn: &mut Connection, store_id: &str) -> Result<Seeded> {
    let products = read_sample(SAMPLE_CSV)?;
    if products.is_empty() {
        return Err(Error::Internal("the demo catalogue sample is empty".into()));
    }
    let entries = demo_entries(store_id, &products)?;
    let levels = stock_levels(&products, &entries);
    let numbered: Vec<(usize, FeedBody)> = entries.into_iter().enumerate().collect();
    let seeded = db::write(conn, |tx| {
        let catalogue = catalogue::upsert(tx, &products)?;
        let store_created = stores::create(tx, store_id, &format!("Demo store ({store_id})"))?;
        let mut associates = Vec::new();
        for (staff_id, name, role, pin) in ASSOCIATES {
            let change = stores::put_associate(tx, store_id, staff_id, name, role, pin)?;
            associates.push((staff_id, change));
        }
        let stock_replaced = stores::replace_stock(tx, store_id, &levels)?;
        let orders = orders::load(tx, &numbered)?;
        Ok(Seeded {
            store_id: store_id.to_owned(),
            catalogue,
            store_created,
            associates,
            stock_levels: levels.len(),
            stock_replaced,
            orders,
        })
    })?;
    tracing::info!(
        store = store_id,
        changed = seeded.changed(),
        "demo store seeded"
    );
    Ok(seeded)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_sample_reads_back_as_valid_products() {
        let products = read_sample(SAMPLE_CSV).unwrap();
        assert_eq!(products.len(), SAMPLE_SIZE);
        assert!(
            products.windows(2).all(|w| w[0].gtin14 < w[1].gtin14),
            "sorted, no duplicates"
        );
    }

    #[test]
    fn demo_orders_are_deterministic_and_within_their_bounds() {
        let products = read_sample(SAMPLE_CSV).unwrap();
        let entries = demo_entries(DEMO_STORE, &products).unwrap();
        assert_eq!(entries, demo_entries(DEMO_STORE, &products).unwrap());
        let orders: Vec<&OrderSpec> = entries
            .iter()
            .filter_map(|e| match e {
                FeedBody::OrderCreated { order } => Some(order),
                FeedBody::OrderCancelled { .. } => None,
            })
            .collect();
        assert_eq!(orders.len(), DEMO_ORDERS);
        assert_eq!(entries.len(), DEMO_ORDERS + DEMO_CANCELLED);
        assert_eq!(orders[0].order_number, "D-10001");
        let now = time::parse_rfc3339(DEMO_NOW).unwrap();
        for order in &orders {
            orders::validate(order).unwrap();
            assert!((1..=4).contains(&order.lines.len()));
            assert!(order.lines.iter().all(|l| (1..=3).contains(&l.quantity)));
            let placed = time::parse_rfc3339(&order.placed_at).unwrap();
            assert!(
                placed < now && now - placed <= 3 * 86_400_000,
                "{}",
                order.placed_at
            );
        }
    }

    #[test]
    fn stock_covers_every_open_demo_order() {
        let products = read_sample(SAMPLE_CSV).unwrap();
        let entries = demo_entries(DEMO_STORE, &products).unwrap();
        let levels = stock_levels(&products, &entries);
        assert_eq!(levels.len(), products.len());
        assert!(levels.iter().all(|l| (0..=100).contains(&l.on_hand)));
        assert!(levels.iter().filter(|l| l.on_hand <= 24).count() > products.len() * 9 / 10);
        let level: HashMap<&str, i64> = levels
            .iter()
            .map(|l| (l.gtin14.as_str(), l.on_hand))
            .collect();
        for entry in &entries[..DEMO_ORDERS - DEMO_CANCELLED] {
            let FeedBody::OrderCreated { order } = entry else {
                panic!("creations come first")
            };
            for line in &order.lines {
                assert!(level[line.gtin14.as_str()] >= i64::from(line.quantity));
            }
        }
    }
}
