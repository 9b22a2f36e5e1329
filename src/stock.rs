//! The store's stock document: units on hand per product, as Automerge counters.
//!
//! Central (the warehouse system) owns stock on hand; devices record movements as increments
//! of a counter, so a pick on one device and a pick on another add up instead of one erasing
//! the other. Each counter is created exactly once, in the document's deterministic first
//! change built from central's snapshot: every device that imports the same snapshot writes
//! the same bytes. A new snapshot from central starts a new document (a new epoch), so the
//! history of one never grows without bound.
//!
//! Layout: `{ schema, store_id, epoch, on_hand: { gtin14: counter } }`.

use automerge::transaction::{CommitOptions, Transactable};
use automerge::{AutoCommit, ObjType, ROOT, ReadDoc, ScalarValue, Value};
use uuid::Uuid;

use crate::contract::StockSnapshot;
use crate::error::{Error, Result};
use crate::order::NAMESPACE;

pub fn stock_doc_id(store_id: &str, epoch: &str) -> Uuid {
    Uuid::new_v5(&NAMESPACE, format!("stock:{store_id}:{epoch}").as_bytes())
}

/// Builds the stock document of a snapshot: the same bytes on every device.
pub fn create(snapshot: &StockSnapshot) -> Result<AutoCommit> {
    let doc_id = stock_doc_id(&snapshot.store_id, &snapshot.epoch);
    let mut doc = AutoCommit::new().with_actor(automerge::ActorId::from(doc_id.as_bytes()));
    doc.put(ROOT, "schema", 1_i64)?;
    doc.put(ROOT, "store_id", snapshot.store_id.as_str())?;
    doc.put(ROOT, "epoch", snapshot.epoch.as_str())?;
    let on_hand = doc.put_object(ROOT, "on_hand", ObjType::Map)?;
    let mut levels: Vec<_> = snapshot.levels.iter().collect();
    levels.sort_by(|a, b| a.gtin14.cmp(&b.gtin14));
    for level in levels {
        doc.put(
            &on_hand,
            level.gtin14.as_str(),
            ScalarValue::counter(level.on_hand),
        )?;
    }
    doc.commit_with(CommitOptions::default().with_time(0));
    // Only the first change may use the creation actor: a later change under it would differ
    // between devices under the same actor and sequence number, which Automerge refuses to
    // merge.
    doc.set_actor(automerge::ActorId::random());
    Ok(doc)
}

/// Adds `delta` (negative for a pick) to a product's counter and returns the new level, or
/// `None` when the snapshot had no counter for the product (the movement is then not
/// recorded: creating a counter here would conflict with one created on another device).
pub fn record_movement(doc: &mut AutoCommit, gtin14: &str, delta: i64) -> Result<Option<i64>> {
    let on_hand = on_hand_map(doc)?;
    if level_in(doc, &on_hand, gtin14)?.is_none() {
        return Ok(None);
    }
    doc.increment(&on_hand, gtin14, delta)?;
    level_in(doc, &on_hand, gtin14)
}

/// Every product's level.
pub fn levels(doc: &AutoCommit) -> Result<Vec<(String, i64)>> {
    let on_hand = on_hand_map(doc)?;
    let mut out = Vec::new();
    for gtin in doc.keys(&on_hand) {
        if let Some(level) = level_in(doc, &on_hand, &gtin)? {
            out.push((gtin, level));
        }
    }
    Ok(out)
}

pub fn level(doc: &AutoCommit, gtin14: &str) -> Result<Option<i64>> {
    let on_hand = on_hand_map(doc)?;
    level_in(doc, &on_hand, gtin14)
}

fn on_hand_map(doc: &AutoCommit) -> Result<automerge::ObjId> {
    match doc.get(ROOT, "on_hand")? {
        Some((Value::Object(ObjType::Map), id)) => Ok(id),
        _ => Err(Error::document("stock", "map on_hand missing")),
    }
}

fn level_in(doc: &AutoCommit, map: &automerge::ObjId, gtin14: &str) -> Result<Option<i64>> {
    Ok(match doc.get(map, gtin14)? {
        Some((Value::Scalar(s), _)) => match s.as_ref() {
            ScalarValue::Counter(c) => Some(i64::from(c)),
            other => other.as_i64(),
        },
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::StockLevel;

    fn snapshot() -> StockSnapshot {
        StockSnapshot {
            store_id: "s".into(),
            epoch: "e1".into(),
            levels: vec![StockLevel {
                gtin14: "04006381333931".into(),
                on_hand: 10,
            }],
        }
    }

    #[test]
    fn a_counter_incremented_on_two_devices_adds_up() {
        let mut a = create(&snapshot()).unwrap();
        let mut b = create(&snapshot()).unwrap();
        a.set_actor(automerge::ActorId::random());
        b.set_actor(automerge::ActorId::random());
        record_movement(&mut a, "04006381333931", 1).unwrap();
        record_movement(&mut b, "04006381333931", 1).unwrap();
        a.commit();
        b.commit();
        a.merge(&mut b).unwrap();
        assert_eq!(level(&a, "04006381333931").unwrap(), Some(12));
    }

    #[test]
    fn a_product_without_a_counter_records_no_movement() {
        let mut doc = create(&snapshot()).unwrap();
        assert_eq!(
            record_movement(&mut doc, "00000096385074", -1).unwrap(),
            None
        );
        assert_eq!(levels(&doc).unwrap().len(), 1);
    }
}
