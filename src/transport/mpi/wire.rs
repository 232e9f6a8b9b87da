//! What MPI transport messages look like: a small postcard-encoded [`Envelope`] on one tag,
//! followed (for frames) by the payloads as raw byte messages on another tag, each cut into
//! pieces of at most [`PIECE_LEN`] bytes because MPI counts are C `int`s. Plus the connection
//! proof: an HMAC of the cluster secret over the world id and both ranks.
//!
//! This module must not call MPI.

use bytes::Bytes;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::protocol::frame_codec::MAX_PAYLOAD_COUNT;
use crate::protocol::{Frame, FrameError, Message, Secret};

/// MPI tag of envelopes.
pub(super) const TAG_ENVELOPE: i32 = 7001;
/// MPI tag of payload pieces.
pub(super) const TAG_PAYLOAD: i32 = 7002;
/// The largest MPI message of a payload (1 GiB; MPI counts are C `int`s).
pub(super) const PIECE_LEN: usize = 1 << 30;

/// One MPI message on [`TAG_ENVELOPE`]. Connection ids are local to the rank that chose them.
#[derive(Debug, Serialize, Deserialize)]
pub(super) enum Envelope {
    /// Open a connection; `from` is the connector's id for it.
    Connect { from: u32, proof: Vec<u8> },
    /// The listener accepted connection `to` (the connector's id); `from` is the listener's id.
    Accepted { to: u32, from: u32 },
    /// The connection was refused; `retry` when nothing listens yet.
    Refused {
        to: u32,
        reason: String,
        retry: bool,
    },
    /// A frame for connection `to`; its payloads follow on [`TAG_PAYLOAD`], in order.
    Frame {
        to: u32,
        payload_lens: Vec<u64>,
        messages: Vec<Message>,
    },
    /// The sender closed connection `to`.
    Close { to: u32 },
}

impl Envelope {
    /// Encode for sending.
    pub(super) fn encode(&self) -> Result<Vec<u8>, FrameError> {
        let bytes = postcard::to_stdvec(self)
            .map_err(|e| FrameError::TooLarge(format!("cannot encode an MPI envelope: {e}")))?;
        if bytes.len() > i32::MAX as usize {
            return Err(FrameError::TooLarge(format!(
                "the messages of one frame take {} bytes; MPI sends at most {} at once",
                bytes.len(),
                i32::MAX
            )));
        }
        Ok(bytes)
    }

    /// Decode a received envelope.
    pub(super) fn decode(bytes: &[u8]) -> Result<Envelope, FrameError> {
        postcard::from_bytes(bytes)
            .map_err(|e| FrameError::Malformed(format!("bad MPI envelope: {e}")))
    }
}

/// A frame for connection `to` as an encoded envelope and its payloads (not copied).
pub(super) fn encode_frame(to: u32, frame: Frame) -> Result<(Vec<u8>, Vec<Bytes>), FrameError> {
    if frame.payloads.len() > MAX_PAYLOAD_COUNT as usize {
        return Err(FrameError::TooLarge(format!(
            "{} payloads, more than the limit of {MAX_PAYLOAD_COUNT}",
            frame.payloads.len()
        )));
    }
    let envelope = Envelope::Frame {
        to,
        payload_lens: frame.payloads.iter().map(|p| p.len() as u64).collect(),
        messages: frame.messages,
    };
    Ok((envelope.encode()?, frame.payloads))
}

/// Byte ranges of the MPI messages that carry a payload of `len` bytes.
pub(super) fn pieces(len: usize) -> impl Iterator<Item = std::ops::Range<usize>> {
    (0..len)
        .step_by(PIECE_LEN)
        .map(move |start| start..(start + PIECE_LEN).min(len))
}

type HmacSha256 = Hmac<Sha256>;

fn proof_mac(secret: &Secret, world: u64, from_rank: u32, to_rank: u32) -> HmacSha256 {
    // Any key length is valid for HMAC.
    let mut mac = HmacSha256::new_from_slice(secret.to_hex().as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    mac.update(b"tessera-mpi-connect");
    mac.update(&world.to_le_bytes());
    mac.update(&from_rank.to_le_bytes());
    mac.update(&to_rank.to_le_bytes());
    mac
}

/// What rank `from_rank` presents to connect to `to_rank` in world `world`.
pub(super) fn connect_proof(secret: &Secret, world: u64, from_rank: u32, to_rank: u32) -> Vec<u8> {
    proof_mac(secret, world, from_rank, to_rank)
        .finalize()
        .into_bytes()
        .to_vec()
}

/// True when `proof` shows knowledge of `secret` (constant-time comparison).
pub(super) fn proof_is_valid(
    proof: &[u8],
    secret: &Secret,
    world: u64,
    from_rank: u32,
    to_rank: u32,
) -> bool {
    proof_mac(secret, world, from_rank, to_rank)
        .verify_slice(proof)
        .is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::TaskKey;

    #[test]
    fn pieces_cover_the_payload_exactly() {
        assert_eq!(pieces(0).count(), 0);
        assert_eq!(pieces(5).collect::<Vec<_>>(), vec![0..5]);
        let big = 2 * PIECE_LEN + 7;
        let cut: Vec<_> = pieces(big).collect();
        assert_eq!(
            cut,
            vec![0..PIECE_LEN, PIECE_LEN..2 * PIECE_LEN, 2 * PIECE_LEN..big]
        );
    }

    #[test]
    fn frames_round_trip_without_their_payloads() {
        let mut frame = Frame::new();
        let p = frame.push_payload(Bytes::from_static(b"abc"));
        frame.push(Message::Data {
            key: TaskKey::new("x"),
            payload: p,
        });
        let (head, payloads) = encode_frame(9, frame.clone()).unwrap();
        assert_eq!(payloads, frame.payloads);
        match Envelope::decode(&head).unwrap() {
            Envelope::Frame {
                to,
                payload_lens,
                messages,
            } => {
                assert_eq!(to, 9);
                assert_eq!(payload_lens, vec![3]);
                assert_eq!(messages, frame.messages);
            }
            other => panic!("decoded {other:?}"),
        }
        assert!(Envelope::decode(&head[..head.len() / 2]).is_err());
    }

    #[test]
    fn proofs_bind_secret_world_and_ranks() {
        let secret = Secret::generate();
        let proof = connect_proof(&secret, 7, 1, 2);
        assert!(proof_is_valid(&proof, &secret, 7, 1, 2));
        assert!(!proof_is_valid(&proof, &Secret::generate(), 7, 1, 2));
        assert!(!proof_is_valid(&proof, &secret, 8, 1, 2));
        assert!(!proof_is_valid(&proof, &secret, 7, 2, 1));
        assert!(!proof_is_valid(b"short", &secret, 7, 1, 2));
    }
}
