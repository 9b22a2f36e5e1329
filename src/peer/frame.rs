//! The wire format of a peer session: one frame a message, binary, little-endian.
//!
//! ```text
//! frame   := magic "SH" | version 1 | kind | from u8 | session u64 | seq u32 | body
//! hello   := store str8 | device 16 bytes | inventory                 (kind 1)
//! welcome := store str8 | device 16 bytes | inventory | messages      (kind 2)
//! sync    := messages                                                 (kind 3)
//! done    := (empty)                                                  (kind 4)
//! inventory := count u32 | { doc_id str8 | kind str8 | heads u16 | 32-byte hash × heads }
//! messages  := count u32 | { doc_id str8 | bytes u32 | Automerge sync message }
//! str8      := length u8 | UTF-8
//! from      := 0 from the initiator, 1 from the responder
//! ```
//!
//! Everything a peer sends is untrusted: [`Frame::decode`] checks every length against what is
//! left before it allocates, caps each count, refuses trailing bytes and text outside the
//! allowed alphabet, and never panics (a test feeds it every truncation and random bytes). The
//! Automerge sync messages inside are opaque here; the session decodes them one by one, so a
//! bad one costs only its document.

use automerge::ChangeHash;
use uuid::Uuid;

const MAGIC: &[u8; 2] = b"SH";
const VERSION: u8 = 1;

/// The most documents one inventory may list.
pub const MAX_INVENTORY: usize = 200_000;
/// The most heads one document may list; a document with more is listed with none (and then
/// always synced), which costs bytes, never correctness.
pub const MAX_HEADS: usize = 64;
/// The largest frame a peer may send; a transport refuses longer ones before reading them.
pub const MAX_FRAME: usize = 64 * 1024 * 1024;

/// One document in a hello: its id, kind and heads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocHeads {
    pub doc_id: String,
    pub kind: String,
    /// Sorted; empty for a document with more than [`MAX_HEADS`] heads.
    pub heads: Vec<ChangeHash>,
}

/// One Automerge sync message for one document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocMessage {
    pub doc_id: String,
    pub message: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Body {
    /// The initiator's opening: who it is and what it has.
    Hello {
        store_id: String,
        device_id: Uuid,
        inventory: Vec<DocHeads>,
    },
    /// The responder's answer: who it is, what it has, and its first sync messages.
    Welcome {
        store_id: String,
        device_id: Uuid,
        inventory: Vec<DocHeads>,
        messages: Vec<DocMessage>,
    },
    /// A turn: sync messages, or none ("nothing to say").
    Sync { messages: Vec<DocMessage> },
    /// The sender had nothing to say after the other side had nothing to say: the end.
    Done,
}

impl Body {
    pub fn name(&self) -> &'static str {
        match self {
            Body::Hello { .. } => "hello",
            Body::Welcome { .. } => "welcome",
            Body::Sync { .. } => "sync",
            Body::Done => "done",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// Which side sent it, so a frame reflected back to its sender does not fit.
    pub from_responder: bool,
    /// Chosen by the initiator at random; every frame of the session carries it.
    pub session: u64,
    /// Counts the sender's frames from 0; the receiver expects each in turn.
    pub seq: u32,
    pub body: Body,
}

/// Why bytes are not a frame.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed peer frame: {0}")]
pub struct FrameError(pub &'static str);

impl Frame {
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(64);
        out.extend_from_slice(MAGIC);
        out.push(VERSION);
        out.push(match self.body {
            Body::Hello { .. } => 1,
            Body::Welcome { .. } => 2,
            Body::Sync { .. } => 3,
            Body::Done => 4,
        });
        out.push(u8::from(self.from_responder));
        out.extend_from_slice(&self.session.to_le_bytes());
        out.extend_from_slice(&self.seq.to_le_bytes());
        match &self.body {
            Body::Hello {
                store_id,
                device_id,
                inventory,
            } => {
                put_str(&mut out, store_id);
                out.extend_from_slice(device_id.as_bytes());
                put_inventory(&mut out, inventory);
            }
            Body::Welcome {
                store_id,
                device_id,
                inventory,
                messages,
            } => {
                put_str(&mut out, store_id);
                out.extend_from_slice(device_id.as_bytes());
                put_inventory(&mut out, inventory);
                put_messages(&mut out, messages);
            }
            Body::Sync { messages } => put_messages(&mut out, messages),
            Body::Done => {}
        }
        out
    }

    /// Parses one frame.
    ///
    /// # Failure
    /// [`FrameError`] naming the first thing wrong: magic, version, kind, a length past the
    /// end, a count over its cap, text outside its alphabet, or bytes left over.
    pub fn decode(bytes: &[u8]) -> Result<Frame, FrameError> {
        if bytes.len() > MAX_FRAME {
            return Err(FrameError("longer than the largest frame"));
        }
        let mut r = Reader { rest: bytes };
        if r.take(2)? != MAGIC {
            return Err(FrameError("not a Storehand peer frame"));
        }
        if r.u8()? != VERSION {
            return Err(FrameError("unknown frame version"));
        }
        let kind = r.u8()?;
        let from_responder = match r.u8()? {
            0 => false,
            1 => true,
            _ => return Err(FrameError("unknown sender role")),
        };
        let session = u64::from_le_bytes(r.array()?);
        let seq = u32::from_le_bytes(r.array()?);
        let body = match kind {
            1 => Body::Hello {
                store_id: r.text(is_store_char)?,
                device_id: Uuid::from_bytes(r.array()?),
                inventory: r.inventory()?,
            },
            2 => Body::Welcome {
                store_id: r.text(is_store_char)?,
                device_id: Uuid::from_bytes(r.array()?),
                inventory: r.inventory()?,
                messages: r.messages()?,
            },
            3 => Body::Sync {
                messages: r.messages()?,
            },
            4 => Body::Done,
            _ => return Err(FrameError("unknown frame kind")),
        };
        if !r.rest.is_empty() {
            return Err(FrameError("bytes after the end of the frame"));
        }
        Ok(Frame {
            from_responder,
            session,
            seq,
            body,
        })
    }
}

/// Document ids: UUIDs today; letters, digits and `-_:.` leave room for other schemes.
fn is_doc_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b':' | b'.')
}

/// Document kinds: `order`, `stock`, and whatever a newer Storehand adds.
fn is_kind_char(c: u8) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'_'
}

/// Store ids as central allows them.
fn is_store_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_')
}

/// Whether `doc_id` and `kind` can travel in a frame; a document that cannot is not offered.
pub fn is_listable(doc_id: &str, kind: &str) -> bool {
    let fits = |s: &str, ok: fn(u8) -> bool| {
        !s.is_empty() && s.len() <= u8::MAX as usize && s.bytes().all(ok)
    };
    fits(doc_id, is_doc_char) && fits(kind, is_kind_char)
}

fn put_str(out: &mut Vec<u8>, text: &str) {
    // Callers only pass text that `is_listable` (or central's store-id check) accepted, so it
    // fits in 255 bytes; cut defensively rather than write a wrong length.
    let bytes = &text.as_bytes()[..text.len().min(u8::MAX as usize)];
    out.push(bytes.len() as u8);
    out.extend_from_slice(bytes);
}

fn put_inventory(out: &mut Vec<u8>, inventory: &[DocHeads]) {
    out.extend_from_slice(&(inventory.len() as u32).to_le_bytes());
    for entry in inventory {
        put_str(out, &entry.doc_id);
        put_str(out, &entry.kind);
        let heads = if entry.heads.len() > MAX_HEADS {
            &[][..]
        } else {
            &entry.heads[..]
        };
        out.extend_from_slice(&(heads.len() as u16).to_le_bytes());
        for head in heads {
            out.extend_from_slice(&head.0);
        }
    }
}

fn put_messages(out: &mut Vec<u8>, messages: &[DocMessage]) {
    out.extend_from_slice(&(messages.len() as u32).to_le_bytes());
    for m in messages {
        put_str(out, &m.doc_id);
        out.extend_from_slice(&(m.message.len() as u32).to_le_bytes());
        out.extend_from_slice(&m.message);
    }
}

struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], FrameError> {
        if n > self.rest.len() {
            return Err(FrameError("a length runs past the end of the frame"));
        }
        let (head, tail) = self.rest.split_at(n);
        self.rest = tail;
        Ok(head)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], FrameError> {
        let mut out = [0; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    fn u8(&mut self) -> Result<u8, FrameError> {
        Ok(self.take(1)?[0])
    }

    fn text(&mut self, ok: fn(u8) -> bool) -> Result<String, FrameError> {
        let len = usize::from(self.u8()?);
        let bytes = self.take(len)?;
        if bytes.is_empty() || !bytes.iter().all(|&c| ok(c)) {
            return Err(FrameError(
                "an id or kind is empty or has a character not allowed",
            ));
        }
        // Every allowed character is ASCII, so this cannot fail.
        String::from_utf8(bytes.to_vec()).map_err(|_| FrameError("text is not UTF-8"))
    }

    /// A count of entries, each at least `min_entry` bytes long: refused when more than `cap`
    /// or more than the rest of the frame could hold, so no allocation trusts the peer.
    fn count(&mut self, cap: usize, min_entry: usize) -> Result<usize, FrameError> {
        let n = u32::from_le_bytes(self.array()?) as usize;
        if n > cap || n.saturating_mul(min_entry) > self.rest.len() {
            return Err(FrameError("a count is larger than the frame can hold"));
        }
        Ok(n)
    }

    fn inventory(&mut self) -> Result<Vec<DocHeads>, FrameError> {
        let n = self.count(MAX_INVENTORY, 6)?;
        let mut out = Vec::with_capacity(n);
        for _ in 0..n {
            let doc_id = self.text(is_doc_char)?;
            let kind = self.text(is_kind_char)?;
            let count = usize::from(u16::from_le_bytes(self.array()?));
            if count > MAX_HEADS {
                return Err(FrameError("a document lists too many heads"));
            }
            let mut heads = Vec::with_capacity(count);
            for _ in 0..count {
                heads.push(ChangeHash(self.array()?));
            }
            out.push(DocHeads {
                doc_id,
                kind,
                heads,
            });
        }
        Ok(out)
    }

    fn messages(&mut self) -> Result<Vec<DocMessage>, FrameError> {
        let n = self.count(MAX_INVENTORY, 6)?;
        let mut out = Vec::with_capacity(n);
        for _ in 0..n {
            let doc_id = self.text(is_doc_char)?;
            let len = u32::from_le_bytes(self.array()?) as usize;
            out.push(DocMessage {
                doc_id,
                message: self.take(len)?.to_vec(),
            });
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn samples() -> Vec<Frame> {
        let heads = vec![ChangeHash([7; 32]), ChangeHash([9; 32])];
        let inventory = vec![
            DocHeads {
                doc_id: Uuid::from_u128(1).to_string(),
                kind: "order".into(),
                heads: heads.clone(),
            },
            DocHeads {
                doc_id: "stock:demo-store:e1".into(),
                kind: "stock".into(),
                heads: vec![],
            },
        ];
        let messages = vec![DocMessage {
            doc_id: Uuid::from_u128(1).to_string(),
            message: vec![0x42, 1, 2, 3],
        }];
        vec![
            Frame {
                from_responder: false,
                session: 42,
                seq: 0,
                body: Body::Hello {
                    store_id: "demo-store".into(),
                    device_id: Uuid::from_u128(5),
                    inventory: inventory.clone(),
                },
            },
            Frame {
                from_responder: false,
                session: 42,
                seq: 0,
                body: Body::Welcome {
                    store_id: "demo-store".into(),
                    device_id: Uuid::from_u128(6),
                    inventory,
                    messages: messages.clone(),
                },
            },
            Frame {
                from_responder: false,
                session: u64::MAX,
                seq: 7,
                body: Body::Sync { messages },
            },
            Frame {
                from_responder: false,
                session: 1,
                seq: 8,
                body: Body::Sync { messages: vec![] },
            },
            Frame {
                from_responder: false,
                session: 1,
                seq: 9,
                body: Body::Done,
            },
        ]
    }

    #[test]
    fn every_frame_kind_decodes_to_what_was_encoded() {
        for frame in samples() {
            assert_eq!(Frame::decode(&frame.encode()).unwrap(), frame);
        }
    }

    #[test]
    fn every_truncation_and_every_extra_byte_is_refused_without_a_panic() {
        for frame in samples() {
            let bytes = frame.encode();
            for cut in 0..bytes.len() {
                assert!(Frame::decode(&bytes[..cut]).is_err(), "cut at {cut}");
            }
            let mut longer = bytes.clone();
            longer.push(0);
            assert_eq!(
                Frame::decode(&longer).unwrap_err(),
                FrameError("bytes after the end of the frame")
            );
        }
    }

    #[test]
    fn random_bytes_and_flipped_bytes_never_panic_the_decoder() {
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for frame in samples() {
            let bytes = frame.encode();
            for _ in 0..2_000 {
                let mut damaged = bytes.clone();
                let at = next() as usize % damaged.len();
                damaged[at] = next() as u8;
                let _ = Frame::decode(&damaged);
            }
        }
        for _ in 0..2_000 {
            let len = next() as usize % 200;
            let mut junk: Vec<u8> = (0..len).map(|_| next() as u8).collect();
            if junk.len() > 3 {
                junk[..3].copy_from_slice(b"SH\x01");
            }
            let _ = Frame::decode(&junk);
        }
    }

    #[test]
    fn a_count_larger_than_the_frame_is_refused_before_anything_is_allocated() {
        let mut bytes = Frame {
            from_responder: true,
            session: 1,
            seq: 0,
            body: Body::Sync { messages: vec![] },
        }
        .encode();
        let at = bytes.len() - 4;
        bytes[at..].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(
            Frame::decode(&bytes).unwrap_err(),
            FrameError("a count is larger than the frame can hold")
        );
    }

    #[test]
    fn ids_outside_the_alphabet_are_not_listable() {
        assert!(is_listable(&Uuid::from_u128(3).to_string(), "order"));
        assert!(!is_listable("a b", "order"));
        assert!(!is_listable("abc", "Order"));
        assert!(!is_listable("", "order"));
        assert!(!is_listable(&"x".repeat(256), "order"));
    }
}
