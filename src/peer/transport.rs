//! A peer link over TCP: encrypted and mutually authenticated with the store's sync key, and
//! carrying one [`Session`] per connection.
//!
//! The link runs the Noise protocol framework's `NNpsk0` handshake (X25519, ChaChaPoly,
//! BLAKE2s) with the store's sync key as the pre-shared key: both ends prove they hold the
//! key before a single session frame moves, so a device without it (or of another store)
//! learns nothing and can change nothing; everything after the handshake is encrypted.
//! Device identities are not part of the handshake: the store key is what admits a peer, and
//! the session's hello names the device.
//!
//! On the wire every Noise message is a 2-byte big-endian length and the message (the usual
//! Noise framing, at most 65,535 bytes). A session frame, which may be larger, travels as one
//! message holding its length (4 bytes, big-endian) followed by as many messages as its bytes
//! need. Every read has a deadline ([`IO_DEADLINE`]): a silent peer ends the session, never
//! hangs it.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

use super::frame::MAX_FRAME;
use super::{Next, Outcome, Session, SessionStats};
use crate::Device;
use crate::error::{Error, Result};

/// The Noise protocol name, as the Noise specification spells it.
pub const NOISE_PATTERN: &str = "Noise_NNpsk0_25519_ChaChaPoly_BLAKE2s";
/// The longest a link waits for the peer's next message.
pub const IO_DEADLINE: Duration = Duration::from_secs(15);

/// Noise's largest message, and its authentication tag (section 3 of the specification).
const NOISE_MAX: usize = 65_535;
const TAG: usize = 16;
const CHUNK: usize = NOISE_MAX - TAG;

/// The store's sync key as the 32 bytes Noise takes as its pre-shared key.
///
/// # Failure
/// [`Error::Io`] when the key is not 64 hex digits (a replica enrolled by a broken central).
pub fn store_key(device: &Device) -> Result<[u8; 32]> {
    let identity = device.identity()?;
    parse_key(identity.sync_key()).ok_or_else(|| {
        link_error(
            "the store's sync key",
            std::io::ErrorKind::InvalidData,
            "is not 64 hex digits; enrol this device again",
        )
    })
}

fn parse_key(hex: &str) -> Option<[u8; 32]> {
    let hex = hex.as_bytes();
    if hex.len() != 64 {
        return None;
    }
    let mut key = [0; 32];
    for (i, pair) in hex.chunks(2).enumerate() {
        let text = std::str::from_utf8(pair).ok()?;
        key[i] = u8::from_str_radix(text, 16).ok()?;
    }
    Some(key)
}

fn link_error(context: &str, kind: std::io::ErrorKind, what: &str) -> Error {
    Error::Io {
        context: context.to_owned(),
        source: std::io::Error::new(kind, what.to_owned()),
    }
}

/// An established, encrypted link.
pub struct Link {
    stream: TcpStream,
    noise: snow::TransportState,
    peer: SocketAddr,
}

impl Link {
    /// Connects to `addr` and runs the handshake as the initiator.
    ///
    /// # Failure
    /// [`Error::Io`] when the peer cannot be reached, does not answer in time, or the
    /// handshake fails (it does not hold the same store key).
    pub async fn connect(addr: SocketAddr, key: &[u8; 32]) -> Result<Link> {
        let context = format!("peer link to {addr}");
        let connect = tokio::time::timeout(IO_DEADLINE, TcpStream::connect(addr)).await;
        let mut stream = match connect {
            Ok(Ok(stream)) => stream,
            Ok(Err(source)) => return Err(Error::Io { context, source }),
            Err(_) => {
                let kind = std::io::ErrorKind::TimedOut;
                return Err(link_error(&context, kind, "no answer"));
            }
        };
        let _ = stream.set_nodelay(true);
        let mut noise = builder(key)?
            .build_initiator()
            .map_err(|e| noise_error(&context, e))?;
        let mut buf = vec![0; NOISE_MAX];
        let n = noise
            .write_message(&[], &mut buf)
            .map_err(|e| noise_error(&context, e))?;
        write_message(&mut stream, &buf[..n], &context).await?;
        let answer = read_message(&mut stream, &context).await.map_err(|_| {
            link_error(
                &context,
                std::io::ErrorKind::PermissionDenied,
                "the peer closed the link during the handshake: it does not hold this store's key",
            )
        })?;
        noise
            .read_message(&answer, &mut buf)
            .map_err(|_| refused(&context))?;
        let noise = noise
            .into_transport_mode()
            .map_err(|e| noise_error(&context, e))?;
        Ok(Link {
            stream,
            noise,
            peer: addr,
        })
    }

    /// Runs the handshake as the responder on an accepted connection.
    ///
    /// # Failure
    /// [`Error::Io`] when the initiator does not hold the store key (the connection is then
    /// closed without an answer) or does not finish in time.
    pub async fn accept(mut stream: TcpStream, key: &[u8; 32]) -> Result<Link> {
        let peer = stream
            .peer_addr()
            .unwrap_or_else(|_| SocketAddr::from(([0, 0, 0, 0], 0)));
        let context = format!("peer link from {peer}");
        let _ = stream.set_nodelay(true);
        let mut noise = builder(key)?
            .build_responder()
            .map_err(|e| noise_error(&context, e))?;
        let hello = read_message(&mut stream, &context).await?;
        let mut buf = vec![0; NOISE_MAX];
        noise
            .read_message(&hello, &mut buf)
            .map_err(|_| refused(&context))?;
        let n = noise
            .write_message(&[], &mut buf)
            .map_err(|e| noise_error(&context, e))?;
        write_message(&mut stream, &buf[..n], &context).await?;
        let noise = noise
            .into_transport_mode()
            .map_err(|e| noise_error(&context, e))?;
        Ok(Link {
            stream,
            noise,
            peer,
        })
    }

    /// Sends one session frame.
    pub async fn send(&mut self, frame: &[u8]) -> Result<()> {
        let context = format!("peer link with {}", self.peer);
        let mut buf = vec![0; NOISE_MAX];
        let length = (frame.len() as u32).to_be_bytes();
        for plain in std::iter::once(&length[..]).chain(frame.chunks(CHUNK)) {
            let n = self
                .noise
                .write_message(plain, &mut buf)
                .map_err(|e| noise_error(&context, e))?;
            write_message(&mut self.stream, &buf[..n], &context).await?;
        }
        Ok(())
    }

    /// Receives one session frame.
    ///
    /// # Failure
    /// [`Error::Io`] when the peer goes silent past the deadline, closes the link, sends a
    /// message that does not decrypt, or announces a frame larger than [`MAX_FRAME`].
    pub async fn recv(&mut self) -> Result<Vec<u8>> {
        let context = format!("peer link with {}", self.peer);
        let mut buf = vec![0; NOISE_MAX];
        let header = read_message(&mut self.stream, &context).await?;
        let n = self
            .noise
            .read_message(&header, &mut buf)
            .map_err(|e| noise_error(&context, e))?;
        let length: [u8; 4] = buf[..n].try_into().map_err(|_| {
            link_error(
                &context,
                std::io::ErrorKind::InvalidData,
                "bad frame header",
            )
        })?;
        let length = u32::from_be_bytes(length) as usize;
        if length > MAX_FRAME {
            let kind = std::io::ErrorKind::InvalidData;
            return Err(link_error(
                &context,
                kind,
                "the peer announced a frame too large",
            ));
        }
        let mut frame = Vec::with_capacity(length);
        while frame.len() < length {
            let message = read_message(&mut self.stream, &context).await?;
            let n = self
                .noise
                .read_message(&message, &mut buf)
                .map_err(|e| noise_error(&context, e))?;
            if n == 0 || frame.len() + n > length {
                let kind = std::io::ErrorKind::InvalidData;
                return Err(link_error(&context, kind, "a frame's parts do not add up"));
            }
            frame.extend_from_slice(&buf[..n]);
        }
        Ok(frame)
    }
}

fn builder(key: &[u8; 32]) -> Result<snow::Builder<'_>> {
    let params: snow::params::NoiseParams = NOISE_PATTERN
        .parse()
        .map_err(|e| noise_error("the Noise parameters", e))?;
    snow::Builder::new(params)
        .psk(0, key)
        .map_err(|e| noise_error("the Noise parameters", e))
}

fn noise_error(context: &str, err: snow::Error) -> Error {
    link_error(context, std::io::ErrorKind::InvalidData, &err.to_string())
}

fn refused(context: &str) -> Error {
    link_error(
        context,
        std::io::ErrorKind::PermissionDenied,
        "the handshake failed: the peer does not hold this store's key",
    )
}

async fn write_message(stream: &mut TcpStream, message: &[u8], context: &str) -> Result<()> {
    let length = u16::try_from(message.len()).map_err(|_| {
        link_error(
            context,
            std::io::ErrorKind::InvalidInput,
            "message too long",
        )
    })?;
    let mut out = Vec::with_capacity(2 + message.len());
    out.extend_from_slice(&length.to_be_bytes());
    out.extend_from_slice(message);
    let write = tokio::time::timeout(IO_DEADLINE, stream.write_all(&out)).await;
    match write {
        Ok(Ok(())) => Ok(()),
        Ok(Err(source)) => Err(Error::Io {
            context: context.to_owned(),
            source,
        }),
        Err(_) => Err(link_error(
            context,
            std::io::ErrorKind::TimedOut,
            "the peer stopped reading",
        )),
    }
}

async fn read_message(stream: &mut TcpStream, context: &str) -> Result<Vec<u8>> {
    let read = async {
        let mut length = [0; 2];
        stream.read_exact(&mut length).await?;
        let length = usize::from(u16::from_be_bytes(length));
        if length < TAG {
            let kind = std::io::ErrorKind::InvalidData;
            return Err(std::io::Error::new(kind, "a message shorter than its tag"));
        }
        let mut message = vec![0; length];
        stream.read_exact(&mut message).await?;
        Ok(message)
    };
    match tokio::time::timeout(IO_DEADLINE, read).await {
        Ok(Ok(message)) => Ok(message),
        Ok(Err(source)) => Err(Error::Io {
            context: context.to_owned(),
            source,
        }),
        Err(_) => Err(link_error(
            context,
            std::io::ErrorKind::TimedOut,
            "the peer went silent",
        )),
    }
}

/// What one session over a link did.
#[derive(Debug, Clone)]
pub struct LinkReport {
    pub outcome: Option<Outcome>,
    pub stats: SessionStats,
}

/// Connects to the peer at `addr` and runs one session as the initiator.
///
/// # Failure
/// [`Error::Io`] when the link fails (unreachable, silent, not of this store); a storage
/// error of the replica. What the session applied before the failure stays applied.
pub async fn sync_with(device: Arc<Device>, addr: SocketAddr) -> Result<LinkReport> {
    let key = store_key(&device)?;
    let mut link = Link::connect(addr, &key).await?;
    let (session, hello) = {
        let device = Arc::clone(&device);
        blocking(move || Session::initiate(&device)).await?
    };
    link.send(&hello).await?;
    drive(device, link, session).await
}

/// Answers one connection: the handshake, then one session as the responder.
///
/// # Failure
/// As [`sync_with`]; a peer without the store key fails the handshake and gets no answer.
pub async fn answer(device: Arc<Device>, stream: TcpStream) -> Result<LinkReport> {
    let key = store_key(&device)?;
    let link = Link::accept(stream, &key).await?;
    let session = {
        let device = Arc::clone(&device);
        blocking(move || Session::respond(&device)).await?
    };
    drive(device, link, session).await
}

/// Feeds received frames to the session and sends its answers until it finishes. The
/// session's replica work runs off the async threads.
async fn drive(device: Arc<Device>, mut link: Link, mut session: Session) -> Result<LinkReport> {
    loop {
        let frame = link.recv().await?;
        let device = Arc::clone(&device);
        let (back, next) = blocking(move || {
            let next = session.receive(&device, &frame);
            Ok((session, next))
        })
        .await?;
        session = back;
        match next? {
            Next::Send(bytes) => link.send(&bytes).await?,
            Next::SendLast(bytes) => {
                link.send(&bytes).await?;
                break;
            }
            Next::Finished => break,
        }
    }
    Ok(LinkReport {
        outcome: session.outcome().cloned(),
        stats: session.stats().clone(),
    })
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Error::document("peer session", format!("the session task failed: {e}")))?
}

/// Accepts peer connections on `listener` until `shutdown` turns true, answering each in its
/// own task. A failed link is logged at `warn` with its kind and never stops the others.
pub async fn serve(
    device: Arc<Device>,
    listener: TcpListener,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = shutdown.changed() => return,
        };
        let (stream, from) = match accepted {
            Ok(accepted) => accepted,
            Err(err) => {
                tracing::warn!(error = %err, "peer connection not accepted");
                continue;
            }
        };
        let device = Arc::clone(&device);
        tokio::spawn(async move {
            match answer(device, stream).await {
                Ok(report) => tracing::debug!(
                    peer = %from,
                    outcome = ?report.outcome,
                    frames = report.stats.frames_received + report.stats.frames_sent,
                    "peer session answered"
                ),
                Err(err) => tracing::warn!(peer = %from, error = %err, "peer link failed"),
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sync_key_is_64_hex_digits() {
        assert_eq!(parse_key(&"0f".repeat(32)), Some([0x0f; 32]));
        assert_eq!(parse_key(&"0f".repeat(31)), None);
        assert_eq!(parse_key(&"zz".repeat(32)), None);
        assert_eq!(parse_key(&"é".repeat(32)), None);
    }
}
