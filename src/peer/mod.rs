//! Device-to-device sync inside a store: the Automerge sync protocol, one session a
//! connection, many documents a session.
//!
//! - [`frame`]: the wire format (hello, welcome, sync, done), strict and allocation-safe.
//! - [`Session`]: the sans-IO state machine. It is fed frames and answers frames; it applies
//!   what it receives to the replica in one transaction per turn together with the query
//!   tables derived from it, and only then produces the answer, so a change a peer sent is
//!   durable before the peer hears back.
//! - [`transport`]: TCP links encrypted and mutually authenticated with the store's key
//!   (Noise), one session a connection.
//! - [`exchange`]: runs one session between two devices in this process over a perfect link;
//!   the simulation test drives [`Session`] over its faulty one.
//!
//! Why the bare protocol and not samod is written in `ARCHITECTURE.md`.

pub mod frame;
mod session;
mod store;
pub mod transport;

pub use session::{DOC_MESSAGE_CAP, EndReason, FRAME_BUDGET, Next, Outcome, Session, SessionStats};
pub use store::{ORDER_KIND, STOCK_KIND};

use crate::Device;
use crate::error::Result;

/// What one [`exchange`] did, seen from each side.
#[derive(Debug, Clone)]
pub struct Exchange {
    pub initiator: SessionStats,
    pub responder: SessionStats,
    pub initiator_outcome: Option<Outcome>,
    pub responder_outcome: Option<Outcome>,
}

impl Exchange {
    /// Frames both sides sent.
    pub fn frames(&self) -> u32 {
        self.initiator.frames_sent + self.responder.frames_sent
    }

    /// Bytes both sides sent.
    pub fn bytes(&self) -> u64 {
        self.initiator.bytes_sent + self.responder.bytes_sent
    }

    pub fn converged(&self) -> bool {
        self.initiator_outcome == Some(Outcome::Converged)
            && self.responder_outcome == Some(Outcome::Converged)
    }
}

/// Runs one session between two devices of this process, delivering every frame at once and
/// in order, until both sides finish.
///
/// # Failure
/// A storage error of either replica; what was applied before it stays applied.
pub fn exchange(initiator: &Device, responder: &Device) -> Result<Exchange> {
    let (mut a, hello) = Session::initiate(initiator)?;
    let mut b = Session::respond(responder)?;
    // The frame in flight and whether it goes to the responder.
    let mut flight = Some((hello, true));
    while let Some((bytes, to_responder)) = flight.take() {
        let next = if to_responder {
            b.receive(responder, &bytes)?
        } else {
            a.receive(initiator, &bytes)?
        };
        flight = match next {
            Next::Send(bytes) | Next::SendLast(bytes) => Some((bytes, !to_responder)),
            Next::Finished => None,
        };
    }
    Ok(Exchange {
        initiator: a.stats().clone(),
        responder: b.stats().clone(),
        initiator_outcome: a.outcome().cloned(),
        responder_outcome: b.outcome().cloned(),
    })
}

#[cfg(test)]
mod tests;
