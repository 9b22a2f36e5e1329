//! Order documents: how an order lives in Automerge, and the fold that turns its events into
//! where the order stands.
//!
//! One document an order. Its id is the UUIDv5 of the platform's order id and its first change
//! is deterministic (an actor derived from the id, time zero, the same content in the same
//! order), so every device that imports the same feed item writes a byte-identical change and
//! Automerge treats the copies as one.
//!
//! Layout of the root map:
//!
//! ```text
//! schema, platform_order_id, order_number, store_id, fulfilment, customer_name,
//! pickup_code, placed_at                     strings from the feed, written once
//! lines:  { line_id: { gtin14, name, quantity } }
//! events: { event_id: { kind, hlc, at, device, associate, ...payload } }   append-only
//! acks:   { event_id: { status, at, reason? } }                            central's answers
//! ```
//!
//! Progress is never stored as a status that devices overwrite: each step is one entry in
//! `events`, keyed by its UUIDv7, and [`fold`] replays them in hybrid-logical-clock order. The
//! fold, not the merge, decides what two devices doing the same step at once means.

use automerge::transaction::{CommitOptions, Transactable};
use automerge::{AutoCommit, ObjType, ROOT, ReadDoc, ScalarValue, Value};
use uuid::Uuid;

use crate::api::{HistoryEntry, OrderStatus};
use crate::contract::{AckStatus, Fulfilment, OrderSpec, Verification};
use crate::error::{Error, Result};

/// Namespace of every UUIDv5 Storehand derives.
pub const NAMESPACE: Uuid = Uuid::from_u128(0x5f0e_3a52_8d1c_4b6e_9c1f_2a7d_6e4b_8c31);

/// The document id of a platform order.
pub fn order_doc_id(platform_order_id: &str) -> Uuid {
    Uuid::new_v5(&NAMESPACE, format!("order:{platform_order_id}").as_bytes())
}

/// The actor of a document's deterministic first change: the document id's bytes.
fn creation_actor(doc_id: Uuid) -> automerge::ActorId {
    automerge::ActorId::from(doc_id.as_bytes())
}

/// Builds an order's document from its feed item: the same bytes on every device.
pub fn create(spec: &OrderSpec) -> Result<AutoCommit> {
    let doc_id = order_doc_id(&spec.platform_order_id);
    let mut doc = AutoCommit::new().with_actor(creation_actor(doc_id));
    let fulfilment = match spec.fulfilment {
        Fulfilment::Bopis => "bopis",
        Fulfilment::ShipFromStore => "ship_from_store",
    };
    doc.put(ROOT, "schema", 1_i64)?;
    doc.put(ROOT, "platform_order_id", spec.platform_order_id.as_str())?;
    doc.put(ROOT, "order_number", spec.order_number.as_str())?;
    doc.put(ROOT, "store_id", spec.store_id.as_str())?;
    doc.put(ROOT, "fulfilment", fulfilment)?;
    doc.put(ROOT, "customer_name", spec.customer_name.as_str())?;
    doc.put(ROOT, "pickup_code", spec.pickup_code.as_str())?;
    doc.put(ROOT, "placed_at", spec.placed_at.as_str())?;
    let lines = doc.put_object(ROOT, "lines", ObjType::Map)?;
    for line in &spec.lines {
        let obj = doc.put_object(&lines, line.line_id.as_str(), ObjType::Map)?;
        doc.put(&obj, "gtin14", line.gtin14.as_str())?;
        doc.put(&obj, "name", line.name.as_str())?;
        doc.put(&obj, "quantity", i64::from(line.quantity))?;
    }
    doc.put_object(ROOT, "events", ObjType::Map)?;
    doc.put_object(ROOT, "acks", ObjType::Map)?;
    doc.commit_with(CommitOptions::default().with_time(0));
    // Only the first change may use the creation actor: a later change under it (a cancel
    // imported in the same sync) would differ between devices under the same actor and
    // sequence number, which Automerge refuses to merge.
    doc.set_actor(automerge::ActorId::random());
    Ok(doc)
}

/// What happened to an order, one entry of its `events` map.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// One unit of a line was scanned and confirmed.
    ItemPicked {
        line_id: String,
        gtin14: String,
    },
    /// Every unit was picked; written back as `order_picked`.
    OrderPicked,
    OrderStaged {
        bin: String,
    },
    OrderReady,
    OrderHandedOver {
        verification: Verification,
        collected_by: Option<String>,
    },
    /// Central withdrew the order.
    OrderCancelled {
        reason: String,
    },
}

impl Step {
    pub fn kind(&self) -> &'static str {
        match self {
            Step::ItemPicked { .. } => "item_picked",
            Step::OrderPicked => "order_picked",
            Step::OrderStaged { .. } => "order_staged",
            Step::OrderReady => "order_ready",
            Step::OrderHandedOver { .. } => "order_handed_over",
            Step::OrderCancelled { .. } => "order_cancelled",
        }
    }
}

/// A step with who, where and when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub id: Uuid,
    pub step: Step,
    /// Hybrid logical clock: milliseconds and a counter, in fixed-width hex so that text order
    /// is time order. The fold sorts by it, then by device, then by id.
    pub hlc: String,
    /// RFC 3339 wall-clock time, for people.
    pub at: String,
    pub device: String,
    pub associate: String,
}

/// The next clock value for a new event of `doc`: later than the wall clock and than every
/// event already in the document.
pub fn next_hlc(doc: &AutoCommit, now_ms: u64) -> Result<String> {
    let latest = read_events(doc)?.into_iter().map(|e| e.hlc).max();
    let (mut ms, mut counter) = (now_ms, 0_u32);
    if let Some(latest) = latest {
        let last_ms = u64::from_str_radix(&latest[..16], 16).unwrap_or(0);
        let last_counter = u32::from_str_radix(&latest[16..], 16).unwrap_or(0);
        if last_ms >= ms {
            ms = last_ms;
            counter = last_counter + 1;
        }
    }
    Ok(format!("{ms:016x}{counter:08x}"))
}

/// Appends `event` to the document's `events` map as one change.
pub fn append(doc: &mut AutoCommit, event: &Event) -> Result<()> {
    let events = map_id(doc, "events")?;
    let obj = doc.put_object(&events, event.id.to_string(), ObjType::Map)?;
    doc.put(&obj, "kind", event.step.kind())?;
    doc.put(&obj, "hlc", event.hlc.as_str())?;
    doc.put(&obj, "at", event.at.as_str())?;
    doc.put(&obj, "device", event.device.as_str())?;
    doc.put(&obj, "associate", event.associate.as_str())?;
    match &event.step {
        Step::ItemPicked { line_id, gtin14 } => {
            doc.put(&obj, "line_id", line_id.as_str())?;
            doc.put(&obj, "gtin14", gtin14.as_str())?;
        }
        Step::OrderStaged { bin } => doc.put(&obj, "bin", bin.as_str())?,
        Step::OrderHandedOver {
            verification,
            collected_by,
        } => {
            let verification = match verification {
                Verification::PickupCode => "pickup_code",
                Verification::PhotoId => "photo_id",
            };
            doc.put(&obj, "verification", verification)?;
            if let Some(person) = collected_by {
                doc.put(&obj, "collected_by", person.as_str())?;
            }
        }
        Step::OrderCancelled { reason } => doc.put(&obj, "reason", reason.as_str())?,
        Step::OrderPicked | Step::OrderReady => {}
    }
    Ok(())
}

/// Records central's answer to a written-back event.
pub fn record_ack(
    doc: &mut AutoCommit,
    event_id: Uuid,
    status: AckStatus,
    at: &str,
    reason: Option<&str>,
) -> Result<()> {
    let acks = map_id(doc, "acks")?;
    let obj = doc.put_object(&acks, event_id.to_string(), ObjType::Map)?;
    let status = match status {
        AckStatus::Stored => "stored",
        AckStatus::Duplicate => "duplicate",
        AckStatus::Rejected => "rejected",
    };
    doc.put(&obj, "status", status)?;
    doc.put(&obj, "at", at)?;
    if let Some(reason) = reason {
        doc.put(&obj, "reason", reason)?;
    }
    Ok(())
}

/// Central's answer to one written-back event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ack {
    /// `stored`, `duplicate` or `rejected`.
    pub status: String,
    /// RFC 3339, when the device recorded the answer.
    pub at: String,
    /// Central's reason for a duplicate or a rejection.
    pub reason: Option<String>,
}

/// Every answer central gave, by event id.
pub fn acked_events(doc: &AutoCommit) -> Result<Vec<(Uuid, Ack)>> {
    let acks = map_id(doc, "acks")?;
    let mut out = Vec::new();
    for key in doc.keys(&acks) {
        let Ok(id) = Uuid::parse_str(&key) else {
            continue;
        };
        let Some((_, obj)) = doc.get(&acks, &key)? else {
            continue;
        };
        out.push((
            id,
            Ack {
                status: get_str(doc, &obj, "status")?.unwrap_or_default(),
                at: get_str(doc, &obj, "at")?.unwrap_or_default(),
                reason: get_str(doc, &obj, "reason")?,
            },
        ));
    }
    Ok(out)
}

/// One line as folded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineState {
    pub line_id: String,
    pub gtin14: String,
    pub name: String,
    pub ordered: u32,
    pub picked: u32,
    pub over_picked: u32,
}

/// An order as its events make it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderState {
    pub platform_order_id: String,
    pub order_number: String,
    pub store_id: String,
    pub fulfilment: Fulfilment,
    pub customer_name: String,
    pub pickup_code: String,
    pub placed_at: String,
    pub lines: Vec<LineState>,
    pub status: OrderStatus,
    pub bin: Option<String>,
    pub cancel_reason: Option<String>,
    /// Set when a step happened that the fold could not apply (a scan after a cancel that
    /// another device had not seen yet): shown, never hidden.
    pub conflicts: Vec<String>,
    /// The applied events in fold order.
    pub history: Vec<Event>,
}

impl OrderState {
    pub fn units_ordered(&self) -> u32 {
        self.lines.iter().map(|l| l.ordered).sum()
    }

    pub fn units_picked(&self) -> u32 {
        self.lines.iter().map(|l| l.picked).sum()
    }

    pub fn fully_picked(&self) -> bool {
        self.lines.iter().all(|l| l.picked >= l.ordered)
    }

    pub fn history_entries(&self) -> Vec<HistoryEntry> {
        self.history
            .iter()
            .map(|e| HistoryEntry {
                at: e.at.clone(),
                kind: e.step.kind().to_owned(),
                associate_id: e.associate.clone(),
                device_id: e.device.clone(),
                detail: describe(&e.step, &self.lines),
            })
            .collect()
    }
}

fn describe(step: &Step, lines: &[LineState]) -> String {
    match step {
        Step::ItemPicked { line_id, .. } => {
            let name = lines
                .iter()
                .find(|l| &l.line_id == line_id)
                .map(|l| l.name.as_str());
            format!("picked 1 × {}", name.unwrap_or(line_id))
        }
        Step::OrderPicked => "all lines picked".into(),
        Step::OrderStaged { bin } => format!("staged in {bin}"),
        Step::OrderReady => "ready for pickup; central tells the customer".into(),
        Step::OrderHandedOver {
            verification,
            collected_by,
        } => {
            let how = match verification {
                Verification::PickupCode => "pickup code checked",
                Verification::PhotoId => "photo id checked",
            };
            match collected_by {
                Some(person) => format!("handed over to {person} ({how})"),
                None => format!("handed over to the customer ({how})"),
            }
        }
        Step::OrderCancelled { reason } => format!("cancelled by central: {reason}"),
    }
}

/// Reads the document and replays its events in clock order.
///
/// # Failure
/// [`Error::Document`] when a field the creation change always writes is missing or has the
/// wrong type: the document is not an order document.
pub fn fold(doc: &AutoCommit) -> Result<OrderState> {
    let required = |key: &str| -> Result<String> {
        get_str(doc, &ROOT, key)?
            .ok_or_else(|| Error::document("order", format!("field {key} missing")))
    };
    let fulfilment = match required("fulfilment")?.as_str() {
        "ship_from_store" => Fulfilment::ShipFromStore,
        _ => Fulfilment::Bopis,
    };
    let mut lines = read_lines(doc)?;
    let mut events = read_events(doc)?;
    events.sort_by(|a, b| (&a.hlc, &a.device, a.id).cmp(&(&b.hlc, &b.device, b.id)));

    let mut state = OrderState {
        platform_order_id: required("platform_order_id")?,
        order_number: required("order_number")?,
        store_id: required("store_id")?,
        fulfilment,
        customer_name: required("customer_name")?,
        pickup_code: required("pickup_code")?,
        placed_at: required("placed_at")?,
        lines: Vec::new(),
        status: OrderStatus::New,
        bin: None,
        cancel_reason: None,
        conflicts: Vec::new(),
        history: Vec::new(),
    };
    let (mut staged, mut ready, mut handed_over) = (false, false, false);
    for event in events {
        let applied = match &event.step {
            Step::ItemPicked { line_id, .. } => {
                if state.cancel_reason.is_some() || handed_over {
                    state
                        .conflicts
                        .push("a unit was picked after the order closed".to_owned());
                }
                match lines.iter_mut().find(|l| &l.line_id == line_id) {
                    Some(line) if line.picked < line.ordered => line.picked += 1,
                    Some(line) => line.over_picked += 1,
                    None => state
                        .conflicts
                        .push(format!("a pick names unknown line {line_id}")),
                }
                true
            }
            Step::OrderPicked => true,
            Step::OrderStaged { bin } if !staged => {
                staged = true;
                state.bin = Some(bin.clone());
                true
            }
            Step::OrderReady if !ready => {
                ready = true;
                true
            }
            Step::OrderHandedOver { .. } if !handed_over => {
                handed_over = true;
                true
            }
            Step::OrderCancelled { reason } if state.cancel_reason.is_none() => {
                state.cancel_reason = Some(reason.clone());
                true
            }
            // A second stage, ready, handover or cancel of the same order (a double tap or two
            // devices at once) changes nothing: the first in fold order stands.
            _ => false,
        };
        if applied {
            state.history.push(event);
        }
    }
    state.lines = std::mem::take(&mut lines);
    state.status = if handed_over {
        OrderStatus::HandedOver
    } else if state.cancel_reason.is_some() {
        OrderStatus::Cancelled
    } else if ready {
        OrderStatus::Ready
    } else if staged {
        OrderStatus::Staged
    } else if state.fully_picked() {
        OrderStatus::Picked
    } else if state.units_picked() > 0 {
        OrderStatus::Picking
    } else {
        OrderStatus::New
    };
    Ok(state)
}

fn read_lines(doc: &AutoCommit) -> Result<Vec<LineState>> {
    let lines = map_id(doc, "lines")?;
    let mut out = Vec::new();
    for line_id in doc.keys(&lines) {
        let Some((_, obj)) = doc.get(&lines, &line_id)? else {
            continue;
        };
        let quantity = get_i64(doc, &obj, "quantity")?.unwrap_or(0);
        out.push(LineState {
            gtin14: get_str(doc, &obj, "gtin14")?.unwrap_or_default(),
            name: get_str(doc, &obj, "name")?.unwrap_or_default(),
            ordered: u32::try_from(quantity).unwrap_or(0),
            picked: 0,
            over_picked: 0,
            line_id,
        });
    }
    Ok(out)
}

/// Every well-formed event of the document, in key order. Malformed entries (an unknown kind
/// from a newer device) are skipped, not fatal.
pub fn read_events(doc: &AutoCommit) -> Result<Vec<Event>> {
    let events = map_id(doc, "events")?;
    let mut out = Vec::new();
    for key in doc.keys(&events) {
        let Ok(id) = Uuid::parse_str(&key) else {
            continue;
        };
        let Some((_, obj)) = doc.get(&events, &key)? else {
            continue;
        };
        let field = |name: &str| get_str(doc, &obj, name);
        let step = match field("kind")?.as_deref() {
            Some("item_picked") => Step::ItemPicked {
                line_id: field("line_id")?.unwrap_or_default(),
                gtin14: field("gtin14")?.unwrap_or_default(),
            },
            Some("order_picked") => Step::OrderPicked,
            Some("order_staged") => Step::OrderStaged {
                bin: field("bin")?.unwrap_or_default(),
            },
            Some("order_ready") => Step::OrderReady,
            Some("order_handed_over") => Step::OrderHandedOver {
                verification: match field("verification")?.as_deref() {
                    Some("pickup_code") => Verification::PickupCode,
                    _ => Verification::PhotoId,
                },
                collected_by: field("collected_by")?,
            },
            Some("order_cancelled") => Step::OrderCancelled {
                reason: field("reason")?.unwrap_or_default(),
            },
            _ => continue,
        };
        let Some(hlc) = field("hlc")?.filter(|h| h.len() == 24) else {
            continue;
        };
        out.push(Event {
            id,
            step,
            hlc,
            at: field("at")?.unwrap_or_default(),
            device: field("device")?.unwrap_or_default(),
            associate: field("associate")?.unwrap_or_default(),
        });
    }
    Ok(out)
}

fn map_id(doc: &AutoCommit, key: &str) -> Result<automerge::ObjId> {
    match doc.get(ROOT, key)? {
        Some((Value::Object(ObjType::Map), id)) => Ok(id),
        _ => Err(Error::document("order", format!("map {key} missing"))),
    }
}

fn get_str(doc: &AutoCommit, obj: &automerge::ObjId, key: &str) -> Result<Option<String>> {
    Ok(match doc.get(obj, key)? {
        Some((Value::Scalar(s), _)) => match s.as_ref() {
            ScalarValue::Str(text) => Some(text.to_string()),
            _ => None,
        },
        _ => None,
    })
}

fn get_i64(doc: &AutoCommit, obj: &automerge::ObjId, key: &str) -> Result<Option<i64>> {
    Ok(match doc.get(obj, key)? {
        Some((Value::Scalar(s), _)) => s.as_ref().as_i64(),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::OrderLineSpec;

    fn spec() -> OrderSpec {
        OrderSpec {
            platform_order_id: "P-1".into(),
            order_number: "D-1".into(),
            store_id: "s".into(),
            fulfilment: Fulfilment::Bopis,
            customer_name: "Ada".into(),
            pickup_code: "ACDE-FGHJ".into(),
            placed_at: "2026-12-01T10:00:00Z".into(),
            lines: vec![OrderLineSpec {
                line_id: "1".into(),
                gtin14: "04006381333931".into(),
                name: "Pen".into(),
                quantity: 2,
            }],
        }
    }

    fn event(hlc_ms: u64, device: &str, step: Step) -> Event {
        Event {
            id: Uuid::now_v7(),
            step,
            hlc: format!("{hlc_ms:016x}{:08x}", 0),
            at: "2026-12-01T10:00:00Z".into(),
            device: device.into(),
            associate: "1001".into(),
        }
    }

    #[test]
    fn two_devices_importing_the_same_order_write_identical_bytes() {
        let mut a = create(&spec()).unwrap();
        let mut b = create(&spec()).unwrap();
        assert_eq!(a.save(), b.save());
        a.merge(&mut b).unwrap();
        assert_eq!(
            a.get_changes(&[]).len(),
            1,
            "the two creations merge into one change"
        );
    }

    #[test]
    fn picks_beyond_the_ordered_quantity_show_as_over_picked() {
        let mut doc = create(&spec()).unwrap();
        for ms in 1..=3 {
            let step = Step::ItemPicked {
                line_id: "1".into(),
                gtin14: "04006381333931".into(),
            };
            append(&mut doc, &event(ms, "d1", step)).unwrap();
        }
        let state = fold(&doc).unwrap();
        assert_eq!((state.lines[0].picked, state.lines[0].over_picked), (2, 1));
        assert_eq!(state.status, OrderStatus::Picked);
    }

    #[test]
    fn the_first_ready_in_clock_order_stands_and_a_cancel_wins() {
        let mut doc = create(&spec()).unwrap();
        append(&mut doc, &event(5, "d2", Step::OrderReady)).unwrap();
        append(&mut doc, &event(4, "d1", Step::OrderReady)).unwrap();
        let state = fold(&doc).unwrap();
        assert_eq!(state.history.len(), 1);
        assert_eq!(state.history[0].device, "d1");
        append(
            &mut doc,
            &event(
                6,
                "c",
                Step::OrderCancelled {
                    reason: "fraud".into(),
                },
            ),
        )
        .unwrap();
        assert_eq!(fold(&doc).unwrap().status, OrderStatus::Cancelled);
    }

    #[test]
    fn the_clock_moves_past_events_from_a_device_whose_clock_runs_ahead() {
        let mut doc = create(&spec()).unwrap();
        append(&mut doc, &event(1_000, "d1", Step::OrderReady)).unwrap();
        let next = next_hlc(&doc, 10).unwrap();
        assert_eq!(next, format!("{:016x}{:08x}", 1_000, 1));
    }
}
