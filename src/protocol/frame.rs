//! Length-framed batches of messages with raw payloads.
//!
//! A frame on the wire (encoded by [`super::frame_codec`]):
//! `u32 LE control_len | u32 LE payload_count | payload_count × u64 LE payload_len |
//!  control bytes (postcard Vec<Message>) | payload bytes, concatenated`.
//! Payloads are never re-encoded: they are written and read as raw bytes. This module only
//! holds frames; it must not encode them or do I/O.

use bytes::Bytes;

use super::message::{Message, PayloadIndex};

/// A batch of messages and the raw payloads they refer to by index.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Frame {
    pub messages: Vec<Message>,
    pub payloads: Vec<Bytes>,
}

/// A frame could not be read or decoded.
#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    #[error("connection I/O: {0}")]
    Io(#[from] std::io::Error),
    #[error("malformed frame: {0}")]
    Malformed(String),
    /// The frame exceeds what a reader accepts (`frame_codec::MAX_CONTROL_LEN`,
    /// `frame_codec::MAX_PAYLOAD_COUNT`), so it was not sent.
    #[error("frame too large to send: {0}")]
    TooLarge(String),
}

impl Frame {
    /// An empty frame.
    pub fn new() -> Self {
        Frame::default()
    }

    /// A frame holding one message.
    pub fn single(message: Message) -> Self {
        Frame {
            messages: vec![message],
            payloads: Vec::new(),
        }
    }

    /// Append a message.
    pub fn push(&mut self, message: Message) {
        self.messages.push(message);
    }

    /// Append a payload and return its index for a message to refer to.
    pub fn push_payload(&mut self, payload: Bytes) -> PayloadIndex {
        self.payloads.push(payload);
        (self.payloads.len() - 1) as PayloadIndex
    }

    /// The payload a message refers to.
    pub fn payload(&self, index: PayloadIndex) -> Result<&Bytes, FrameError> {
        self.payloads.get(index as usize).ok_or_else(|| {
            FrameError::Malformed(format!(
                "message refers to payload {index} but the frame has {}",
                self.payloads.len()
            ))
        })
    }

    /// True when the frame has no messages.
    pub fn is_empty(&self) -> bool {
        self.messages.is_empty()
    }
}
