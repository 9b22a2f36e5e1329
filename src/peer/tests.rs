//! Sessions between real replicas in temporary directories, without central: convergence,
//! what a reconnect costs, and every way a frame can fail to fit.

use automerge::transaction::{CommitOptions, Transactable};
use automerge::{AutoCommit, ROOT};
use rusqlite::params;
use uuid::Uuid;

use super::frame::{Body, Frame};
use super::{Next, Outcome, Session, exchange};
use crate::Device;
use crate::contract::{Fulfilment, OrderLineSpec, OrderSpec};
use crate::device::refresh_order;
use crate::order::{self, Event, Step};
use crate::replica::heads_text;

const GTIN: &str = "04006381333931";

/// A device enrolled in `store` by writing its identity directly (no central needed here).
fn device(dir: &std::path::Path, store: &str) -> Device {
    let device = Device::open(dir).unwrap();
    device
        .replica()
        .write(|w| {
            w.tx().execute(
                "INSERT INTO device (id, store_id, device_id, device_name, central_url, token,
                                     sync_key, created_at)
                 VALUES (1, ?1, ?2, 'test', 'http://127.0.0.1:9', 't', 'k', 'now')",
                params![store, Uuid::new_v4().to_string()],
            )?;
            Ok(())
        })
        .unwrap();
    device
}

fn spec(n: u32) -> OrderSpec {
    OrderSpec {
        platform_order_id: format!("P-{n}"),
        order_number: format!("D-{n}"),
        store_id: "s".into(),
        fulfilment: Fulfilment::Bopis,
        customer_name: "Ada".into(),
        pickup_code: "ACDE-FGHJ".into(),
        placed_at: "2026-12-01T10:00:00Z".into(),
        lines: vec![OrderLineSpec {
            line_id: "1".into(),
            gtin14: GTIN.into(),
            name: "Pen".into(),
            quantity: 3,
        }],
    }
}

/// Imports order `n` as the feed would: the same bytes on every device.
fn import(device: &Device, n: u32) -> String {
    let doc_id = order::order_doc_id(&format!("P-{n}")).to_string();
    device
        .replica()
        .write(|w| {
            w.insert_doc(&doc_id, "order", order::create(&spec(n))?)?;
            refresh_order(w, &doc_id).map(drop)
        })
        .unwrap();
    doc_id
}

/// One picked unit, recorded as the device's steps record it.
fn pick(device: &Device, doc_id: &str) {
    let me = device.identity().unwrap().device_id;
    device
        .replica()
        .write(|w| {
            let doc = w.doc(doc_id)?.unwrap();
            doc.set_actor(automerge::ActorId::from(me.as_bytes()));
            let event = Event {
                id: Uuid::now_v7(),
                hlc: order::next_hlc(doc, crate::time::now_ms())?,
                at: crate::time::now_rfc3339(),
                device: me.to_string(),
                associate: "1001".into(),
                step: Step::ItemPicked {
                    line_id: "1".into(),
                    gtin14: GTIN.into(),
                },
            };
            order::append(doc, &event)?;
            doc.commit_with(CommitOptions::default().with_time(1));
            w.save_doc(doc_id)?;
            refresh_order(w, doc_id).map(drop)
        })
        .unwrap();
}

/// Heads of every document and the query rows derived from them.
fn replicated(device: &Device) -> String {
    let replica = device.replica();
    let mut out = String::new();
    for sql in [
        "SELECT doc_id, kind, heads FROM docs ORDER BY doc_id",
        "SELECT doc_id, status, units_picked, heads FROM orders ORDER BY doc_id",
        "SELECT doc_id, line_id, picked, open FROM order_lines ORDER BY doc_id, line_id",
        "SELECT event_id, kind, state FROM outbox ORDER BY event_id",
    ] {
        let mut stmt = replica.conn().prepare(sql).unwrap();
        let n = stmt.column_count();
        let mut rows = stmt.query([]).unwrap();
        while let Some(row) = rows.next().unwrap() {
            for i in 0..n {
                let v: rusqlite::types::Value = row.get(i).unwrap();
                out.push_str(&format!("{v:?}|"));
            }
            out.push('\n');
        }
    }
    out
}

fn units_picked(device: &Device, doc_id: &str) -> i64 {
    device
        .replica()
        .conn()
        .query_row(
            "SELECT units_picked FROM orders WHERE doc_id = ?1",
            [doc_id],
            |r| r.get(0),
        )
        .unwrap()
}

fn quarantined(device: &Device) -> Vec<String> {
    let replica = device.replica();
    let mut stmt = replica
        .conn()
        .prepare("SELECT reason FROM quarantine WHERE source = 'peer'")
        .unwrap();
    stmt.query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

/// Whether a session ended on an unexpected frame, for the reason given.
fn unexpected(outcome: Option<&Outcome>, why: &str) -> bool {
    matches!(outcome, Some(Outcome::Ended(super::EndReason::Unexpected(w))) if w.contains(why))
}

/// Drives a session, letting `tamper` change or drop each frame (`None` drops it). Returns
/// both outcomes.
fn drive(
    a: &Device,
    b: &Device,
    mut tamper: impl FnMut(usize, bool, Vec<u8>) -> Option<Vec<u8>>,
) -> (Option<Outcome>, Option<Outcome>) {
    let (mut sa, hello) = Session::initiate(a).unwrap();
    let mut sb = Session::respond(b).unwrap();
    let mut flight = Some((hello, true));
    let mut n = 0;
    while let Some((bytes, to_b)) = flight.take() {
        let Some(bytes) = tamper(n, to_b, bytes) else {
            break;
        };
        n += 1;
        let next = if to_b {
            sb.receive(b, &bytes).unwrap()
        } else {
            sa.receive(a, &bytes).unwrap()
        };
        flight = match next {
            Next::Send(bytes) | Next::SendLast(bytes) => Some((bytes, !to_b)),
            Next::Finished => None,
        };
    }
    (sa.outcome().cloned(), sb.outcome().cloned())
}

#[test]
fn two_replicas_converge_in_one_session_and_the_next_sends_only_two_frames() {
    let dir = tempfile::tempdir().unwrap();
    let a = device(&dir.path().join("a"), "s");
    let b = device(&dir.path().join("b"), "s");
    let shared = import(&a, 1);
    import(&b, 1);
    let only_a = import(&a, 2);
    let only_b = import(&b, 3);
    pick(&a, &shared);
    pick(&b, &shared);

    let first = exchange(&a, &b).unwrap();
    assert!(first.converged(), "{first:?}");
    assert_eq!(replicated(&a), replicated(&b));
    assert_eq!(units_picked(&a, &shared), 2, "both picks count");
    assert_eq!(
        units_picked(&b, &only_a),
        0,
        "an order b lacked arrived derived"
    );
    assert_eq!(units_picked(&a, &only_b), 0);

    let again = exchange(&a, &b).unwrap();
    assert!(again.converged());
    assert_eq!(again.frames(), 2, "hello and welcome only: {again:?}");
    assert_eq!(again.initiator.docs_in_session, 0);
}

#[test]
fn a_reconnect_after_one_change_syncs_only_that_document_with_its_saved_state() {
    let dir = tempfile::tempdir().unwrap();
    let a = device(&dir.path().join("a"), "s");
    let b = device(&dir.path().join("b"), "s");
    let docs: Vec<String> = (1..=20).map(|n| import(&a, n)).collect();
    for doc in &docs {
        pick(&a, doc);
    }
    let first = exchange(&a, &b).unwrap();
    assert!(first.converged());

    pick(&a, &docs[7]);
    let second = exchange(&a, &b).unwrap();
    assert!(second.converged());
    assert_eq!(second.initiator.docs_in_session, 1);
    assert_eq!(replicated(&a), replicated(&b));
    assert!(
        second.initiator.messages_sent + second.responder.messages_sent <= 4,
        "{second:?}"
    );
    let payload =
        |x: &super::Exchange| x.initiator.message_bytes_sent + x.responder.message_bytes_sent;
    assert!(
        payload(&second) * 10 < payload(&first),
        "one change costs a tenth of twenty documents or less: {second:?} vs {first:?}"
    );
}

#[test]
fn a_duplicated_frame_ends_the_session_and_the_next_session_repairs() {
    let dir = tempfile::tempdir().unwrap();
    let a = device(&dir.path().join("a"), "s");
    let b = device(&dir.path().join("b"), "s");
    let doc = import(&a, 1);
    pick(&a, &doc);

    // a's first turn reaches b twice: the copy carries a number b has already seen.
    let (mut sa, hello) = Session::initiate(&a).unwrap();
    let mut sb = Session::respond(&b).unwrap();
    let Next::Send(welcome) = sb.receive(&b, &hello).unwrap() else {
        panic!("b answers the hello");
    };
    let Next::Send(turn) = sa.receive(&a, &welcome).unwrap() else {
        panic!("a answers the welcome");
    };
    assert!(matches!(sb.receive(&b, &turn).unwrap(), Next::Send(_)));
    assert_eq!(sb.receive(&b, &turn).unwrap(), Next::Finished);
    assert!(
        unexpected(sb.outcome(), "lost, duplicated or reordered"),
        "{:?}",
        sb.outcome()
    );

    // A frame reflected back to its sender does not fit either.
    pick(&a, &doc);
    let (mut sa, hello) = Session::initiate(&a).unwrap();
    let mut sb = Session::respond(&b).unwrap();
    let Next::Send(welcome) = sb.receive(&b, &hello).unwrap() else {
        panic!("b answers the hello");
    };
    let Next::Send(turn) = sa.receive(&a, &welcome).unwrap() else {
        panic!("a answers the welcome");
    };
    let Next::Send(_) = sb.receive(&b, &turn).unwrap() else {
        panic!("b answers");
    };
    assert_eq!(sa.receive(&a, &turn).unwrap(), Next::Finished);
    assert!(unexpected(sa.outcome(), "reflected"), "{:?}", sa.outcome());

    let next = exchange(&a, &b).unwrap();
    assert!(next.converged());
    assert_eq!(replicated(&a), replicated(&b));
}

#[test]
fn a_dropped_frame_leaves_both_replicas_whole_and_the_next_session_repairs() {
    let dir = tempfile::tempdir().unwrap();
    let a = device(&dir.path().join("a"), "s");
    let b = device(&dir.path().join("b"), "s");
    for n in 1..=3 {
        let doc = import(&a, n);
        pick(&a, &doc);
    }
    for lost in 0..4 {
        let (oa, ob) = drive(&a, &b, |n, _, bytes| (n != lost).then_some(bytes));
        assert!(
            oa.is_none() || ob.is_none(),
            "someone still waits: {oa:?} {ob:?}"
        );
        // What b applied is whole: every order row matches its document.
        let heads_match: bool = b
            .replica()
            .conn()
            .query_row(
                "SELECT COUNT(*) = 0 FROM orders o JOIN docs d USING (doc_id)
                 WHERE o.heads != d.heads",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert!(heads_match);
    }
    assert!(exchange(&a, &b).unwrap().converged());
    assert_eq!(replicated(&a), replicated(&b));
}

#[test]
fn a_frame_of_another_session_or_of_the_wrong_kind_ends_the_session() {
    let dir = tempfile::tempdir().unwrap();
    let a = device(&dir.path().join("a"), "s");
    let b = device(&dir.path().join("b"), "s");
    let doc = import(&a, 1);

    let (_, ob) = drive(&a, &b, |n, _, bytes| {
        if n != 2 {
            return Some(bytes);
        }
        let mut frame = Frame::decode(&bytes).unwrap();
        frame.session ^= 1;
        Some(frame.encode())
    });
    assert!(unexpected(ob.as_ref(), "another session"), "{ob:?}");

    pick(&a, &doc);
    let (_, ob) = drive(&a, &b, |n, _, bytes| {
        if n != 2 {
            return Some(bytes);
        }
        let mut frame = Frame::decode(&bytes).unwrap();
        frame.body = Body::Hello {
            store_id: "s".into(),
            device_id: Uuid::new_v4(),
            inventory: vec![],
        };
        Some(frame.encode())
    });
    assert!(
        unexpected(ob.as_ref(), "a hello frame where a sync frame was due"),
        "{ob:?}"
    );

    let mut b_session = Session::respond(&b).unwrap();
    assert_eq!(
        b_session.receive(&b, b"not a frame").unwrap(),
        Next::Finished
    );
    assert!(matches!(
        b_session.outcome(),
        Some(Outcome::Ended(super::EndReason::Malformed(_)))
    ));
}

#[test]
fn a_device_of_another_store_gets_no_answer_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let a = device(&dir.path().join("a"), "other-store");
    let b = device(&dir.path().join("b"), "s");
    let doc = import(&a, 1);
    pick(&a, &doc);
    import(&b, 2);
    let before = replicated(&b);

    let (_, hello) = Session::initiate(&a).unwrap();
    let mut sb = Session::respond(&b).unwrap();
    assert_eq!(sb.receive(&b, &hello).unwrap(), Next::Finished);
    assert!(matches!(
        sb.outcome(),
        Some(Outcome::Ended(super::EndReason::Refused(_)))
    ));
    assert_eq!(replicated(&b), before);
}

/// Deletes every document, query row and peer record of a closed device, keeping its
/// identity: a device whose data was lost but that still knows who it is.
fn wipe(dir: &std::path::Path) {
    let conn = rusqlite::Connection::open(dir.join("replica.sqlite3")).unwrap();
    conn.execute_batch(
        "DELETE FROM doc_chunks; DELETE FROM docs; DELETE FROM orders; DELETE FROM order_lines;
         DELETE FROM outbox; DELETE FROM peer_doc_state; DELETE FROM peers;",
    )
    .unwrap();
}

#[test]
fn a_peer_that_wiped_its_replica_gets_everything_back_in_one_session_either_way_round() {
    let dir = tempfile::tempdir().unwrap();
    let a = device(&dir.path().join("a"), "s");
    let b = device(&dir.path().join("b"), "s");
    for n in 1..=5 {
        let doc = import(&a, n);
        pick(&a, &doc);
        pick(&a, &doc);
    }
    assert!(exchange(&a, &b).unwrap().converged());
    let wanted = replicated(&a);
    drop(b);

    for b_starts in [false, true] {
        // a still holds the sync states that say b has everything.
        wipe(&dir.path().join("b"));
        let b = Device::open(&dir.path().join("b")).unwrap();
        assert_eq!(replicated(&b), "", "b is empty");
        let run = if b_starts {
            exchange(&b, &a).unwrap()
        } else {
            exchange(&a, &b).unwrap()
        };
        assert!(run.converged(), "{run:?}");
        assert_eq!(replicated(&b), wanted, "recovered in one session");
        assert!(run.frames() <= 8, "{run:?}");
    }
}

#[test]
fn a_malformed_sync_message_skips_only_its_document_and_the_next_session_repairs() {
    let dir = tempfile::tempdir().unwrap();
    let a = device(&dir.path().join("a"), "s");
    let b = device(&dir.path().join("b"), "s");
    let docs: Vec<String> = (1..=3).map(|n| import(&a, n)).collect();
    let victim = docs[1].clone();

    // Only what travels to b is damaged.
    let (oa, ob) = drive(&a, &b, |_, to_b, bytes| {
        if !to_b {
            return Some(bytes);
        }
        let mut frame = Frame::decode(&bytes).unwrap();
        if let Body::Sync { messages } | Body::Welcome { messages, .. } = &mut frame.body {
            for m in messages.iter_mut().filter(|m| m.doc_id == victim) {
                m.message = vec![0x42, 0xff, 0xff];
            }
        }
        Some(frame.encode())
    });
    assert_eq!(
        (oa, ob),
        (Some(Outcome::Converged), Some(Outcome::Converged))
    );
    let has = |d: &Device, id: &str| d.replica().read_doc(id).unwrap().is_some();
    assert!(
        has(&b, &docs[0]) && has(&b, &docs[2]),
        "the other documents synced"
    );
    assert!(!has(&b, &victim));
    let reports = quarantined(&b);
    assert_eq!(reports.len(), 1, "{reports:?}");
    assert!(reports[0].contains("malformed sync message"), "{reports:?}");

    assert!(exchange(&a, &b).unwrap().converged());
    assert_eq!(replicated(&a), replicated(&b));
}

#[test]
fn an_order_document_that_is_no_order_is_quarantined_and_the_rest_keep_syncing() {
    let dir = tempfile::tempdir().unwrap();
    let a = device(&dir.path().join("a"), "s");
    let b = device(&dir.path().join("b"), "s");
    let good = import(&a, 1);
    let bogus = Uuid::new_v4().to_string();
    let mut doc = AutoCommit::new();
    doc.put(ROOT, "schema", 1_i64).unwrap();
    doc.commit();
    a.replica()
        .write(|w| w.insert_doc(&bogus, "order", doc))
        .unwrap();

    let run = exchange(&a, &b).unwrap();
    assert!(run.converged(), "{run:?}");
    assert_eq!(run.responder.skipped, vec![bogus.clone()]);
    assert!(b.replica().read_doc(&good).unwrap().is_some());
    assert!(
        b.replica().read_doc(&bogus).unwrap().is_none(),
        "not stored without its query rows"
    );
    assert!(
        quarantined(&b)[0].contains("field"),
        "{:?}",
        quarantined(&b)
    );
}

#[test]
fn a_document_of_an_unknown_kind_is_stored_and_passed_on_but_not_derived() {
    let dir = tempfile::tempdir().unwrap();
    let a = device(&dir.path().join("a"), "s");
    let b = device(&dir.path().join("b"), "s");
    let c = device(&dir.path().join("c"), "s");
    let note = Uuid::new_v4().to_string();
    let mut doc = AutoCommit::new();
    doc.put(ROOT, "text", "from a newer Storehand").unwrap();
    doc.commit();
    a.replica()
        .write(|w| w.insert_doc(&note, "customer_note", doc))
        .unwrap();

    assert!(exchange(&a, &b).unwrap().converged());
    assert!(exchange(&b, &c).unwrap().converged());
    let mut replica = c.replica();
    let heads = replica.read_doc(&note).unwrap().map(heads_text);
    assert!(
        heads.is_some(),
        "passed on by a device that does not know the kind"
    );
    let kind: String = replica
        .conn()
        .query_row("SELECT kind FROM docs WHERE doc_id = ?1", [&note], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(kind, "customer_note");
    let rows: i64 = replica
        .conn()
        .query_row("SELECT COUNT(*) FROM orders", [], |r| r.get(0))
        .unwrap();
    assert_eq!(rows, 0);
}

#[test]
fn two_devices_that_import_an_order_and_its_cancel_in_one_sync_can_still_merge() {
    let mut a = order::create(&spec(1)).unwrap();
    let mut b = order::create(&spec(1)).unwrap();
    for (doc, ms) in [(&mut a, 10_u64), (&mut b, 20)] {
        let event = Event {
            id: Uuid::from_u128(9),
            hlc: order::next_hlc(doc, ms).unwrap(),
            at: "2026-12-01T10:00:00Z".into(),
            device: "central".into(),
            associate: "central".into(),
            step: Step::OrderCancelled { reason: "x".into() },
        };
        order::append(doc, &event).unwrap();
        doc.commit();
    }
    a.merge(&mut b)
        .expect("later changes never reuse the creation actor");
}
