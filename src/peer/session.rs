//! One sync session between two devices: a sans-IO state machine that turns received frames
//! into frames to send, applying what it receives to the replica on the way.
//!
//! The session never touches a socket or a clock. A transport (TCP, or the in-memory link of
//! the simulation test) carries its frames and decides when a silent peer has gone; dropping
//! a [`Session`] forgets everything in flight, and the next session starts again from the
//! sync states persisted in the replica.
//!
//! The flow, initiator on the left:
//!
//! ```text
//! hello (my documents and heads)  ->
//!                                 <-  welcome (its documents and heads, first sync messages)
//! sync (messages, or none)        ->
//!                                 <-  sync ...
//! ...                                 turns alternate; whoever has nothing to say, after
//!                                     the other had nothing to say or once every document
//!                                     is known to be in step, sends done
//! ```
//!
//! Both sides compute the same set of documents to sync from the two inventories: every
//! document one side lacks or whose heads differ. A document already equal on both sides costs
//! its inventory entry and nothing more; if no document differs the welcome ends the session.
//!
//! Strict turns keep it bounded: every frame answers the one before, a document may send at
//! most [`DOC_MESSAGE_CAP`] messages a session, and an empty turn is answered by messages or
//! by done, never by another empty turn, so a session exchanges at most
//! `4 + 4 × cap × documents` frames (checked as well). A frame that
//! does not fit (another session's, a duplicate, one out of order, one of the wrong kind) ends
//! the session on the spot; nothing is lost by that, the next session repairs.

use std::collections::{BTreeMap, HashMap};
use std::panic::{AssertUnwindSafe, catch_unwind};

use automerge::AutoCommit;
use automerge::sync::{self, SyncDoc};
use uuid::Uuid;

use super::frame::{Body, DocHeads, DocMessage, Frame};
use super::store::{self, Local};
use crate::Device;
use crate::error::{Error, Result};
use crate::replica::Writer;

/// The most sync messages one side sends for one document in one session. The Automerge
/// protocol needs about three for a document that changed on one side and a few more after a
/// peer lost its data; a document that needs more is left for the next session, logged.
pub const DOC_MESSAGE_CAP: u32 = 16;

/// Sync messages one frame carries, in bytes, before the rest wait for the next turn. A single
/// message larger than this still goes, alone.
pub const FRAME_BUDGET: usize = 4 * 1024 * 1024;

/// What to do after the session handled a frame (or started).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Next {
    /// Send this frame and wait for the answer.
    Send(Vec<u8>),
    /// Send this frame; the session is over, expect nothing more.
    SendLast(Vec<u8>),
    /// Nothing to send; the session is over (see [`Session::outcome`]).
    Finished,
}

/// How a session ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Both sides ran out of things to say: every document of the session is in step, except
    /// those quarantined or over the message cap (listed in [`SessionStats`]).
    Converged,
    /// The session stopped early; what was applied stays applied, the next session goes on.
    Ended(EndReason),
}

/// Why a session stopped before it converged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EndReason {
    /// A frame did not fit the session: another session's, out of order, duplicated, or of
    /// a kind not due.
    Unexpected(String),
    /// The bytes were not a frame.
    Malformed(String),
    /// The peer belongs to another store, or is this device itself.
    Refused(String),
    /// More frames than the bound allows; a bug guard, logged.
    TooLong,
    /// The replica could not be written; the transaction rolled back.
    Storage(String),
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Outcome::Converged => write!(f, "converged"),
            Outcome::Ended(EndReason::Unexpected(why)) => write!(f, "ended: unexpected {why}"),
            Outcome::Ended(EndReason::Malformed(why)) => write!(f, "ended: {why}"),
            Outcome::Ended(EndReason::Refused(why)) => write!(f, "refused: {why}"),
            Outcome::Ended(EndReason::TooLong) => write!(f, "ended: too many frames"),
            Outcome::Ended(EndReason::Storage(why)) => write!(f, "ended: storage: {why}"),
        }
    }
}

/// What a session did, for logs, tests and benchmarks.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SessionStats {
    pub frames_sent: u32,
    pub frames_received: u32,
    pub bytes_sent: u64,
    pub bytes_received: u64,
    /// Documents listed by either side.
    pub docs_listed: usize,
    /// Documents whose heads differed, so the session synced them.
    pub docs_in_session: usize,
    pub messages_sent: u32,
    pub messages_received: u32,
    /// Bytes of the Automerge sync messages this side sent (the frames' payload, without the
    /// inventory and framing).
    pub message_bytes_sent: u64,
    /// Documents a received message changed (each counted once a frame).
    pub docs_changed: u32,
    /// Documents skipped for the rest of the session: unloadable, a malformed message, an
    /// Automerge error or panic, a derivation that failed, or over the message cap.
    pub skipped: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Responder, before the hello.
    AwaitHello,
    /// Initiator, after its hello.
    AwaitWelcome,
    /// Either side, after sending a turn.
    AwaitTurn,
    Finished,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DocStatus {
    Active,
    Skipped,
}

/// One document of the session.
struct DocSync {
    doc_id: String,
    /// The kind to store it as if this device does not have it yet.
    kind: String,
    state: sync::State,
    /// The persisted state as last written, to write only changes.
    persisted: Vec<u8>,
    /// Whether the persisted shared heads were checked against this device's document.
    checked: bool,
    /// The document while this device has none stored: empty until the first change arrives.
    fresh: Option<AutoCommit>,
    sent: u32,
    received: u32,
    status: DocStatus,
    /// The last generation had nothing to say and the peer's last heads were ours.
    in_step: bool,
}

/// A sync session with one peer. See the module documentation for the flow.
pub struct Session {
    initiator: bool,
    id: u64,
    local: Local,
    peer: Option<Uuid>,
    phase: Phase,
    next_send: u32,
    next_receive: u32,
    /// The inventory this side sent (both sides compute the session's documents from the two
    /// inventories as sent, not as they are by the time the answer arrives).
    offered: Vec<DocHeads>,
    docs: Vec<DocSync>,
    index: HashMap<String, usize>,
    /// Where the next turn starts serving documents, so none starves behind a full frame.
    cursor: usize,
    frame_limit: u32,
    outcome: Option<Outcome>,
    stats: SessionStats,
}

impl Session {
    /// Starts a session as the side that connected: returns it with the hello to send.
    ///
    /// # Failure
    /// A refusal when the device is not enrolled; a storage error when the replica cannot be
    /// read.
    pub fn initiate(device: &Device) -> Result<(Session, Vec<u8>)> {
        let replica = device.replica();
        let local = store::local(replica.conn())?;
        let offered = store::inventory(replica.conn())?;
        drop(replica);
        let mut session = Session::new(true, local);
        session.id = Uuid::new_v4().as_u64_pair().0;
        session.offered = offered;
        session.phase = Phase::AwaitWelcome;
        let hello = Body::Hello {
            store_id: session.local.store_id.clone(),
            device_id: session.local.device_id,
            inventory: session.offered.clone(),
        };
        let bytes = session.encode(hello);
        Ok((session, bytes))
    }

    /// A session as the side that was connected to; it waits for the hello.
    ///
    /// # Failure
    /// As [`Session::initiate`].
    pub fn respond(device: &Device) -> Result<Session> {
        let local = store::local(device.replica().conn())?;
        Ok(Session::new(false, local))
    }

    fn new(initiator: bool, local: Local) -> Session {
        Session {
            initiator,
            id: 0,
            local,
            peer: None,
            phase: Phase::AwaitHello,
            next_send: 0,
            next_receive: 0,
            offered: Vec::new(),
            docs: Vec::new(),
            index: HashMap::new(),
            cursor: 0,
            frame_limit: 4,
            outcome: None,
            stats: SessionStats::default(),
        }
    }

    /// The peer's device id, once its hello or welcome arrived.
    pub fn peer(&self) -> Option<Uuid> {
        self.peer
    }

    /// How the session ended, once it has.
    pub fn outcome(&self) -> Option<&Outcome> {
        self.outcome.as_ref()
    }

    pub fn is_finished(&self) -> bool {
        self.phase == Phase::Finished
    }

    pub fn stats(&self) -> &SessionStats {
        &self.stats
    }

    /// Handles one frame from the peer: applies its changes durably (documents, derived
    /// query tables and sync state in one transaction) and only then returns the answer.
    ///
    /// A frame after the session finished is ignored. A frame that does not fit ends the
    /// session ([`Next::Finished`], with the reason in [`Session::outcome`]).
    ///
    /// # Failure
    /// A storage error when the replica cannot be written; nothing of the frame was applied
    /// and the session is over.
    pub fn receive(&mut self, device: &Device, bytes: &[u8]) -> Result<Next> {
        if self.phase == Phase::Finished {
            return Ok(Next::Finished);
        }
        self.stats.frames_received += 1;
        self.stats.bytes_received += bytes.len() as u64;
        let frame = match Frame::decode(bytes) {
            Ok(frame) => frame,
            Err(err) => {
                tracing::warn!(kind = "malformed_frame", error = %err, "peer frame refused");
                return self.end(device, EndReason::Malformed(err.to_string()));
            }
        };
        if let Some(why) = self.misfit(&frame) {
            tracing::warn!(
                kind = "unexpected_frame",
                frame = frame.body.name(),
                seq = frame.seq,
                why,
                "peer session ended"
            );
            return self.end(device, EndReason::Unexpected(why));
        }
        self.next_receive += 1;
        if self.stats.frames_received + self.stats.frames_sent > self.frame_limit {
            tracing::warn!(
                limit = self.frame_limit,
                "peer session exceeded its frame bound"
            );
            return self.end(device, EndReason::TooLong);
        }

        let outcome = match frame.body {
            Body::Hello {
                store_id,
                device_id,
                inventory,
            } => {
                self.id = frame.session;
                self.meet(device, &store_id, device_id, inventory, Vec::new())
            }
            Body::Welcome {
                store_id,
                device_id,
                inventory,
                messages,
            } => self.meet(device, &store_id, device_id, inventory, messages),
            Body::Sync { messages } => self.turn(device, messages),
            Body::Done => {
                self.phase = Phase::Finished;
                self.outcome = Some(Outcome::Converged);
                self.record_outcome(device)?;
                Ok(Next::Finished)
            }
        };
        match outcome {
            Ok(next) => Ok(next),
            Err(err) => {
                self.phase = Phase::Finished;
                self.outcome = Some(Outcome::Ended(EndReason::Storage(err.to_string())));
                Err(err)
            }
        }
    }

    /// Why `frame` does not fit the session now, or `None` when it does.
    fn misfit(&self, frame: &Frame) -> Option<String> {
        let due = match self.phase {
            Phase::AwaitHello => "hello",
            Phase::AwaitWelcome => "welcome",
            Phase::AwaitTurn => "sync",
            Phase::Finished => "nothing",
        };
        let fits_kind = matches!(
            (&frame.body, self.phase),
            (Body::Hello { .. }, Phase::AwaitHello)
                | (Body::Welcome { .. }, Phase::AwaitWelcome)
                | (Body::Sync { .. } | Body::Done, Phase::AwaitTurn)
        );
        if !fits_kind {
            return Some(format!(
                "a {} frame where a {due} frame was due",
                frame.body.name()
            ));
        }
        if frame.from_responder != self.initiator {
            return Some("a frame from the wrong side (reflected back)".to_owned());
        }
        if self.phase != Phase::AwaitHello && frame.session != self.id {
            return Some("a frame of another session".to_owned());
        }
        if frame.seq != self.next_receive {
            return Some(format!(
                "frame {} where frame {} was due (lost, duplicated or reordered)",
                frame.seq, self.next_receive
            ));
        }
        None
    }

    /// The hello (responder) or welcome (initiator): who the peer is and what it has.
    fn meet(
        &mut self,
        device: &Device,
        store_id: &str,
        peer: Uuid,
        theirs: Vec<DocHeads>,
        messages: Vec<DocMessage>,
    ) -> Result<Next> {
        if store_id != self.local.store_id {
            tracing::warn!(kind = "other_store", "peer of another store refused");
            return self.end(
                device,
                EndReason::Refused("a device of another store".into()),
            );
        }
        if peer == self.local.device_id {
            return self.end(device, EndReason::Refused("this device itself".into()));
        }
        self.peer = Some(peer);
        let mut replica = device.replica();
        if !self.initiator {
            self.offered = store::inventory(replica.conn())?;
        }
        let persisted: HashMap<String, Vec<u8>> =
            store::states(replica.conn(), peer)?.into_iter().collect();
        self.plan(&theirs, persisted);
        if let Some(why) = self.stray(&messages) {
            drop(replica);
            return self.end(device, EndReason::Unexpected(why));
        }
        tracing::debug!(
            peer = %peer,
            listed = self.stats.docs_listed,
            differ = self.docs.len(),
            "peer session planned"
        );

        let initiator = self.initiator;
        let next = replica.write(|w| {
            store::peer_seen(w, peer)?;
            if self.docs.is_empty() {
                // Nothing differs: the welcome says so and both sides are done.
                self.phase = Phase::Finished;
                self.outcome = Some(Outcome::Converged);
                store::peer_outcome(w, peer, "converged", true)?;
                return Ok(if initiator { None } else { Some(Vec::new()) });
            }
            let received_empty = messages.is_empty();
            self.apply(w, peer, messages)?;
            let out = self.generate(w, peer)?;
            if initiator && out.is_empty() && (received_empty || self.settled()) {
                self.phase = Phase::Finished;
                self.outcome = Some(Outcome::Converged);
                store::peer_outcome(w, peer, "converged", true)?;
            }
            Ok(Some(out))
        })?;
        drop(replica);

        match next {
            None => Ok(Next::Finished),
            Some(messages) if !self.initiator => {
                let last = self.phase == Phase::Finished;
                let welcome = Body::Welcome {
                    store_id: self.local.store_id.clone(),
                    device_id: self.local.device_id,
                    inventory: self.offered.clone(),
                    messages,
                };
                Ok(self.send(welcome, last))
            }
            Some(messages) => Ok(self.reply(messages)),
        }
    }

    /// Decides the documents of the session from the two inventories.
    fn plan(&mut self, theirs: &[DocHeads], mut persisted: HashMap<String, Vec<u8>>) {
        let mut all: BTreeMap<&str, (Option<&DocHeads>, Option<&DocHeads>)> = BTreeMap::new();
        for d in &self.offered {
            all.entry(&d.doc_id).or_default().0 = Some(d);
        }
        for d in theirs {
            all.entry(&d.doc_id).or_default().1 = Some(d);
        }
        self.stats.docs_listed = all.len();
        let mut docs = Vec::new();
        for (doc_id, (ours, theirs)) in all {
            let differ = match (ours, theirs) {
                (Some(a), Some(b)) => {
                    a.heads.is_empty() || b.heads.is_empty() || a.heads != b.heads
                }
                _ => true,
            };
            if !differ {
                continue;
            }
            let kind = ours.or(theirs).map(|d| d.kind.clone()).unwrap_or_default();
            let saved = persisted.remove(doc_id).unwrap_or_default();
            let state = sync::State::decode(&saved).unwrap_or_else(|err| {
                if !saved.is_empty() {
                    tracing::debug!(doc = doc_id, %err, "persisted sync state unreadable");
                }
                sync::State::new()
            });
            docs.push(DocSync {
                doc_id: doc_id.to_owned(),
                kind,
                state,
                persisted: saved,
                checked: false,
                fresh: None,
                sent: 0,
                received: 0,
                status: DocStatus::Active,
                in_step: false,
            });
        }
        self.index = docs
            .iter()
            .enumerate()
            .map(|(i, d)| (d.doc_id.clone(), i))
            .collect();
        self.stats.docs_in_session = docs.len();
        self.frame_limit = 4 + 4 * DOC_MESSAGE_CAP * docs.len() as u32;
        self.docs = docs;
    }

    /// A turn of the peer: apply its messages, answer with ours.
    fn turn(&mut self, device: &Device, messages: Vec<DocMessage>) -> Result<Next> {
        let peer = self.peer.unwrap_or_default();
        let received_empty = messages.is_empty();
        if let Some(why) = self.stray(&messages) {
            return self.end(device, EndReason::Unexpected(why));
        }
        let mut replica = device.replica();
        let out = replica.write(|w| {
            self.apply(w, peer, messages)?;
            let out = self.generate(w, peer)?;
            if out.is_empty() && (received_empty || self.settled()) {
                self.phase = Phase::Finished;
                self.outcome = Some(Outcome::Converged);
                store::peer_outcome(w, peer, "converged", true)?;
            }
            Ok(out)
        })?;
        drop(replica);
        Ok(self.reply(out))
    }

    /// Each document may appear once a frame, and only if it is one of the session's.
    fn stray(&self, messages: &[DocMessage]) -> Option<String> {
        let mut seen = std::collections::HashSet::new();
        for m in messages {
            if !self.index.contains_key(&m.doc_id) || !seen.insert(m.doc_id.as_str()) {
                let why = "a message for a document not in the session, or twice in a frame";
                tracing::warn!(kind = "unexpected_message", doc = %m.doc_id, "{why}");
                return Some(why.to_owned());
            }
        }
        None
    }

    /// Whether every document still in the session is known to be in step: the peer's last
    /// message named exactly our heads and we have nothing more to say.
    fn settled(&self) -> bool {
        self.docs
            .iter()
            .all(|d| d.status != DocStatus::Active || d.in_step)
    }

    /// The frame that answers a turn: done when the session converged, else our messages (or
    /// none).
    fn reply(&mut self, messages: Vec<DocMessage>) -> Next {
        if self.phase == Phase::Finished {
            return self.send(Body::Done, true);
        }
        self.send(Body::Sync { messages }, false)
    }

    fn send(&mut self, body: Body, last: bool) -> Next {
        let bytes = self.encode(body);
        if last {
            self.phase = Phase::Finished;
            Next::SendLast(bytes)
        } else {
            self.phase = Phase::AwaitTurn;
            Next::Send(bytes)
        }
    }

    fn encode(&mut self, body: Body) -> Vec<u8> {
        if let Body::Welcome { messages, .. } | Body::Sync { messages } = &body {
            self.stats.messages_sent += messages.len() as u32;
            self.stats.message_bytes_sent +=
                messages.iter().map(|m| m.message.len() as u64).sum::<u64>();
        }
        let frame = Frame {
            from_responder: !self.initiator,
            session: self.id,
            seq: self.next_send,
            body,
        };
        self.next_send += 1;
        let bytes = frame.encode();
        self.stats.frames_sent += 1;
        self.stats.bytes_sent += bytes.len() as u64;
        bytes
    }

    /// Applies the peer's messages, each document in a savepoint of the turn's transaction: a
    /// document that fails is rolled back, reported and skipped for the session, the others
    /// go on. A storage failure fails the whole turn.
    fn apply(&mut self, w: &mut Writer<'_>, peer: Uuid, messages: Vec<DocMessage>) -> Result<()> {
        for m in messages {
            self.stats.messages_received += 1;
            let Some(&i) = self.index.get(&m.doc_id) else {
                continue;
            };
            let doc = &mut self.docs[i];
            doc.received += 1;
            if doc.status != DocStatus::Active {
                continue;
            }
            if doc.received > DOC_MESSAGE_CAP {
                let reason = "more sync messages than a session allows";
                skip(w, &mut self.stats, doc, peer, reason, false)?;
                continue;
            }
            let message = match sync::Message::decode(&m.message) {
                Ok(message) => message,
                Err(err) => {
                    let reason = format!("malformed sync message: {err}");
                    skip(w, &mut self.stats, doc, peer, &reason, true)?;
                    continue;
                }
            };
            w.tx().execute_batch("SAVEPOINT peer_doc")?;
            match apply_one(w, doc, peer, message) {
                Ok(changed) => {
                    w.tx().execute_batch("RELEASE peer_doc")?;
                    if changed {
                        self.stats.docs_changed += 1;
                    }
                }
                Err(Failure::Storage(err)) => return Err(err),
                Err(Failure::Doc(reason)) => {
                    w.tx()
                        .execute_batch("ROLLBACK TO peer_doc; RELEASE peer_doc")?;
                    w.forget_doc(&doc.doc_id);
                    doc.fresh = None;
                    skip(w, &mut self.stats, doc, peer, &reason, true)?;
                }
            }
        }
        Ok(())
    }

    /// Our messages for this turn, serving documents from the cursor on until the frame's
    /// budget is spent.
    fn generate(&mut self, w: &mut Writer<'_>, peer: Uuid) -> Result<Vec<DocMessage>> {
        let mut out = Vec::new();
        let mut bytes = 0;
        let n = self.docs.len();
        for step in 0..n {
            let i = (self.cursor + step) % n;
            if bytes >= FRAME_BUDGET {
                self.cursor = i;
                return Ok(out);
            }
            let doc = &mut self.docs[i];
            if doc.status != DocStatus::Active {
                continue;
            }
            if doc.sent >= DOC_MESSAGE_CAP {
                let reason = "did not converge within the message cap";
                skip(w, &mut self.stats, doc, peer, reason, false)?;
                continue;
            }
            match generate_one(w, doc) {
                Ok(Some(message)) => {
                    doc.in_step = false;
                    doc.sent += 1;
                    let message = message.encode();
                    bytes += message.len();
                    out.push(DocMessage {
                        doc_id: doc.doc_id.clone(),
                        message,
                    });
                }
                Ok(None) => {}
                Err(Failure::Storage(err)) => return Err(err),
                Err(Failure::Doc(reason)) => {
                    w.forget_doc(&doc.doc_id);
                    skip(w, &mut self.stats, doc, peer, &reason, true)?;
                }
            }
        }
        self.cursor = 0;
        Ok(out)
    }

    /// Ends the session early for `reason`, noting it against the peer when known.
    fn end(&mut self, device: &Device, reason: EndReason) -> Result<Next> {
        self.phase = Phase::Finished;
        self.outcome = Some(Outcome::Ended(reason));
        self.record_outcome(device)?;
        Ok(Next::Finished)
    }

    fn record_outcome(&self, device: &Device) -> Result<()> {
        let (Some(peer), Some(outcome)) = (self.peer, &self.outcome) else {
            return Ok(());
        };
        let synced = *outcome == Outcome::Converged;
        let text = outcome.to_string();
        device
            .replica()
            .write(|w| store::peer_outcome(w, peer, &text, synced))
    }
}

/// Why one document could not be handled.
enum Failure {
    /// The replica failed: the whole turn fails.
    Storage(Error),
    /// This document failed (unloadable, an Automerge error or panic, a derivation that
    /// refused): it is skipped, the others go on.
    Doc(String),
}

impl From<Error> for Failure {
    fn from(err: Error) -> Failure {
        match err {
            Error::Storage(_) => Failure::Storage(err),
            other => Failure::Doc(other.to_string()),
        }
    }
}

/// Applies one message to the stored document (or to the fresh one, stored once it holds a
/// change), then re-derives and saves it and the sync state. Returns whether it changed.
fn apply_one(
    w: &mut Writer<'_>,
    doc: &mut DocSync,
    peer: Uuid,
    message: sync::Message,
) -> std::result::Result<bool, Failure> {
    let changed = match w.doc(&doc.doc_id)? {
        Some(stored) => {
            doc.fresh = None;
            check_state(doc, stored);
            let before = stored.get_heads();
            receive(stored, &mut doc.state, message)?;
            let changed = stored.get_heads() != before;
            if changed {
                w.save_doc(&doc.doc_id)?;
                store::derive(w, &doc.doc_id)?;
            }
            changed
        }
        None => {
            let fresh = doc.fresh.get_or_insert_with(AutoCommit::new);
            check_state_fresh(&mut doc.state, &mut doc.checked);
            receive(fresh, &mut doc.state, message)?;
            if fresh.get_heads().is_empty() {
                // Nothing to store yet, and no state worth keeping for a document we lack.
                return Ok(false);
            }
            let fresh = doc.fresh.take().unwrap_or_default();
            w.insert_doc(&doc.doc_id, &doc.kind, fresh)?;
            store::derive(w, &doc.doc_id)?;
            tracing::debug!(doc = %doc.doc_id, kind = %doc.kind, "document received from a peer");
            true
        }
    };
    let state = doc.state.encode();
    if state != doc.persisted {
        store::save_state(w, peer, &doc.doc_id, &state)?;
        doc.persisted = state;
    }
    Ok(changed)
}

fn receive(
    doc: &mut AutoCommit,
    state: &mut sync::State,
    message: sync::Message,
) -> std::result::Result<(), Failure> {
    let received = catch_unwind(AssertUnwindSafe(|| {
        doc.sync().receive_sync_message(state, message)
    }));
    match received {
        Ok(Ok(())) => Ok(()),
        Ok(Err(err)) => Err(Failure::Doc(format!(
            "Automerge refused a sync message: {err}"
        ))),
        Err(_) => Err(Failure::Doc(
            "Automerge panicked applying a sync message".into(),
        )),
    }
}

/// The next message for one document, or `None` when it has nothing to say now.
fn generate_one(
    w: &mut Writer<'_>,
    doc: &mut DocSync,
) -> std::result::Result<Option<sync::Message>, Failure> {
    let target = match w.doc(&doc.doc_id)? {
        Some(stored) => {
            doc.fresh = None;
            check_state(doc, stored);
            stored
        }
        None => {
            check_state_fresh(&mut doc.state, &mut doc.checked);
            doc.fresh.get_or_insert_with(AutoCommit::new)
        }
    };
    let state = &mut doc.state;
    match catch_unwind(AssertUnwindSafe(|| {
        target.sync().generate_sync_message(state)
    })) {
        Ok(message) => {
            doc.in_step = message.is_none() && doc.state.their_heads == Some(target.get_heads());
            Ok(message)
        }
        Err(_) => Err(Failure::Doc(
            "Automerge panicked generating a sync message".into(),
        )),
    }
}

/// A persisted state whose shared heads this device no longer has (its document lost changes
/// to a damaged chunk) would make the peer skip what we lack: start that document over.
fn check_state(doc: &mut DocSync, stored: &mut AutoCommit) {
    if doc.checked {
        return;
    }
    doc.checked = true;
    if !doc.state.shared_heads.is_empty()
        && !stored.get_missing_deps(&doc.state.shared_heads).is_empty()
    {
        tracing::debug!(doc = %doc.doc_id, "saved sync state names lost changes; starting over");
        doc.state = sync::State::new();
    }
}

fn check_state_fresh(state: &mut sync::State, checked: &mut bool) {
    if !*checked {
        *checked = true;
        if !state.shared_heads.is_empty() {
            *state = sync::State::new();
        }
    }
}

/// Skips a document for the rest of the session, logged; a failure (not a cap) is also
/// reported in the quarantine table.
fn skip(
    w: &Writer<'_>,
    stats: &mut SessionStats,
    doc: &mut DocSync,
    peer: Uuid,
    reason: &str,
    report: bool,
) -> Result<()> {
    tracing::warn!(
        kind = "peer_document",
        doc = %doc.doc_id,
        peer = %peer,
        reason,
        "document skipped in peer sync"
    );
    doc.status = DocStatus::Skipped;
    stats.skipped.push(doc.doc_id.clone());
    if report {
        store::quarantine(w, peer, &doc.doc_id, reason)?;
    }
    Ok(())
}
