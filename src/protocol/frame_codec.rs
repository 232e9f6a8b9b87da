//! The byte encoding of a [`Frame`]: writing to a stream, reading from a stream, and decoding
//! from a buffer.
//!
//! On the wire a frame is
//! `u32 LE control_len | u32 LE payload_count | payload_count × u64 LE payload_len |
//!  control bytes (postcard Vec<Message>) | payload bytes, concatenated`.
//!
//! Payloads are written as raw slices (never copied into the control buffer) and read into one
//! allocation each. Lengths come from the peer, so every length is checked against a cap before
//! it is trusted, and stream reads grow buffers in bounded steps as bytes actually arrive: a
//! hostile header can never make this module allocate memory the peer has not sent. This module
//! must not own sockets or threads, nor interpret messages.

use std::io::{self, Read, Write};

use bytes::Bytes;

use super::frame::{Frame, FrameError};
use super::message::Message;

/// The largest control section a frame may declare (256 MiB).
pub const MAX_CONTROL_LEN: u32 = 256 << 20;

/// The most payloads a frame may declare.
pub const MAX_PAYLOAD_COUNT: u32 = 1 << 20;

/// Bytes of the fixed part of the header (`control_len` and `payload_count`).
const FIXED_HEADER_LEN: usize = 8;

/// The first buffer reserved for a section read from a stream; later steps double what has
/// arrived so far, so memory grows only as fast as the peer actually sends bytes.
const FIRST_READ_STEP: usize = 1 << 20;

/// Encode `frame` to `writer`: header and control bytes in one write, then each payload as its
/// own raw slice. Does not flush. A frame over the limits is an
/// [`io::ErrorKind::InvalidInput`] error and nothing is written.
pub fn write_frame<W: Write>(writer: &mut W, frame: &Frame) -> io::Result<()> {
    let head = encode_frame_head(frame)
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e.to_string()))?;
    write_encoded_frame(writer, &head, &frame.payloads)
}

/// Write a frame whose head came from [`encode_frame_head`], followed by its payloads.
pub fn write_encoded_frame<W: Write>(
    writer: &mut W,
    head: &[u8],
    payloads: &[Bytes],
) -> io::Result<()> {
    writer.write_all(head)?;
    for payload in payloads {
        writer.write_all(payload)?;
    }
    Ok(())
}

/// Encode `frame` into a new buffer (for tests and for callers that need the bytes).
pub fn encode_frame(frame: &Frame) -> Result<Vec<u8>, FrameError> {
    let mut buffer = encode_frame_head(frame)?;
    for payload in &frame.payloads {
        buffer.extend_from_slice(payload);
    }
    Ok(buffer)
}

/// The header and control section of `frame` (everything but the payload bytes), or
/// [`FrameError::TooLarge`] when the frame exceeds the limits a reader accepts.
pub fn encode_frame_head(frame: &Frame) -> Result<Vec<u8>, FrameError> {
    let control = postcard::to_stdvec(&frame.messages)
        .map_err(|e| FrameError::TooLarge(format!("cannot encode the messages: {e}")))?;
    let control_len = u32::try_from(control.len())
        .ok()
        .filter(|len| *len <= MAX_CONTROL_LEN)
        .ok_or_else(|| {
            FrameError::TooLarge(format!(
                "the messages take {} bytes, more than the limit of {MAX_CONTROL_LEN}",
                control.len()
            ))
        })?;
    let payload_count = u32::try_from(frame.payloads.len())
        .ok()
        .filter(|count| *count <= MAX_PAYLOAD_COUNT)
        .ok_or_else(|| {
            FrameError::TooLarge(format!(
                "{} payloads, more than the limit of {MAX_PAYLOAD_COUNT}",
                frame.payloads.len()
            ))
        })?;
    let mut head = Vec::with_capacity(FIXED_HEADER_LEN + 8 * frame.payloads.len() + control.len());
    head.extend_from_slice(&control_len.to_le_bytes());
    head.extend_from_slice(&payload_count.to_le_bytes());
    for payload in &frame.payloads {
        head.extend_from_slice(&(payload.len() as u64).to_le_bytes());
    }
    head.extend_from_slice(&control);
    Ok(head)
}

/// The validated fixed header.
struct FixedHeader {
    control_len: usize,
    payload_count: usize,
}

fn parse_fixed_header(bytes: [u8; FIXED_HEADER_LEN]) -> Result<FixedHeader, FrameError> {
    let control_len = u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
    let payload_count = u32::from_le_bytes([bytes[4], bytes[5], bytes[6], bytes[7]]);
    if control_len > MAX_CONTROL_LEN {
        return Err(FrameError::Malformed(format!(
            "control section of {control_len} bytes exceeds the limit of {MAX_CONTROL_LEN}"
        )));
    }
    if payload_count > MAX_PAYLOAD_COUNT {
        return Err(FrameError::Malformed(format!(
            "{payload_count} payloads exceed the limit of {MAX_PAYLOAD_COUNT}"
        )));
    }
    Ok(FixedHeader {
        control_len: control_len as usize,
        payload_count: payload_count as usize,
    })
}

/// Decode the control section: exactly one postcard `Vec<Message>`, no trailing bytes.
fn decode_control(control: &[u8]) -> Result<Vec<Message>, FrameError> {
    let (messages, rest) = postcard::take_from_bytes::<Vec<Message>>(control)
        .map_err(|e| FrameError::Malformed(format!("bad control section: {e}")))?;
    if !rest.is_empty() {
        return Err(FrameError::Malformed(format!(
            "{} stray bytes after the messages of the control section",
            rest.len()
        )));
    }
    Ok(messages)
}

fn payload_len(bytes: [u8; 8]) -> Result<usize, FrameError> {
    let len = u64::from_le_bytes(bytes);
    usize::try_from(len)
        .map_err(|_| FrameError::Malformed(format!("payload of {len} bytes cannot fit in memory")))
}

/// Decode one frame from the start of `buffer`; returns the frame and the bytes it used.
///
/// Incomplete or invalid input gives [`FrameError::Malformed`]; this never panics and never
/// allocates more than `buffer` holds.
pub fn decode_frame(buffer: &[u8]) -> Result<(Frame, usize), FrameError> {
    let mut cursor = SliceCursor {
        buffer,
        position: 0,
    };
    let header = parse_fixed_header(cursor.take_array("frame header")?)?;
    // Each payload length takes 8 bytes, so the count is bounded by what the buffer holds.
    if header.payload_count > cursor.remaining() / 8 {
        return Err(incomplete("payload length table"));
    }
    let mut payload_lens = Vec::with_capacity(header.payload_count);
    for _ in 0..header.payload_count {
        payload_lens.push(payload_len(cursor.take_array("payload length table")?)?);
    }
    let messages = decode_control(cursor.take(header.control_len, "control section")?)?;
    let mut payloads = Vec::with_capacity(payload_lens.len());
    for len in payload_lens {
        payloads.push(Bytes::copy_from_slice(cursor.take(len, "payload")?));
    }
    Ok((Frame { messages, payloads }, cursor.position))
}

fn incomplete(part: &str) -> FrameError {
    FrameError::Malformed(format!("input ends inside the {part}"))
}

/// Reads sections off a byte slice without ever indexing out of bounds.
struct SliceCursor<'a> {
    buffer: &'a [u8],
    position: usize,
}

impl<'a> SliceCursor<'a> {
    fn remaining(&self) -> usize {
        self.buffer.len() - self.position
    }

    fn take(&mut self, len: usize, part: &str) -> Result<&'a [u8], FrameError> {
        if len > self.remaining() {
            return Err(incomplete(part));
        }
        let section = &self.buffer[self.position..self.position + len];
        self.position += len;
        Ok(section)
    }

    fn take_array<const N: usize>(&mut self, part: &str) -> Result<[u8; N], FrameError> {
        let section = self.take(N, part)?;
        let mut array = [0u8; N];
        array.copy_from_slice(section);
        Ok(array)
    }
}

/// Read the next frame from `reader`.
///
/// `Ok(None)` when the stream ends cleanly before the first byte of a frame; a stream that ends
/// inside a frame is an error ([`io::ErrorKind::UnexpectedEof`]).
pub fn read_frame<R: Read>(reader: &mut R) -> Result<Option<Frame>, FrameError> {
    let mut fixed = [0u8; FIXED_HEADER_LEN];
    if !read_first_bytes(reader, &mut fixed)? {
        return Ok(None);
    }
    let header = parse_fixed_header(fixed)?;
    let lens_bytes = read_section(reader, header.payload_count * 8, "payload length table")?;
    let mut payload_lens = Vec::with_capacity(header.payload_count);
    for chunk in lens_bytes.chunks_exact(8) {
        let mut array = [0u8; 8];
        array.copy_from_slice(chunk);
        payload_lens.push(payload_len(array)?);
    }
    let control = read_section(reader, header.control_len, "control section")?;
    let messages = decode_control(&control)?;
    let mut payloads = Vec::with_capacity(payload_lens.len());
    for len in payload_lens {
        payloads.push(Bytes::from(read_section(reader, len, "payload")?));
    }
    Ok(Some(Frame { messages, payloads }))
}

/// Fill `buffer`; `Ok(false)` if the stream ended before its first byte.
fn read_first_bytes<R: Read>(reader: &mut R, buffer: &mut [u8]) -> Result<bool, FrameError> {
    let mut filled = 0;
    while filled < buffer.len() {
        match reader.read(&mut buffer[filled..]) {
            Ok(0) if filled == 0 => return Ok(false),
            Ok(0) => return Err(ended_inside("frame header")),
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(FrameError::Io(e)),
        }
    }
    Ok(true)
}

/// Read exactly `len` bytes into one buffer, growing it in bounded steps as bytes arrive.
fn read_section<R: Read>(reader: &mut R, len: usize, part: &str) -> Result<Vec<u8>, FrameError> {
    let mut section = Vec::new();
    while section.len() < len {
        let step = (len - section.len()).min(section.len().max(FIRST_READ_STEP));
        section.reserve_exact(step);
        let got = reader
            .by_ref()
            .take(step as u64)
            .read_to_end(&mut section)?;
        if got < step {
            return Err(ended_inside(part));
        }
    }
    Ok(section)
}

fn ended_inside(part: &str) -> FrameError {
    FrameError::Io(io::Error::new(
        io::ErrorKind::UnexpectedEof,
        format!("connection closed inside a frame's {part}"),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::TaskKey;

    fn sample_frame() -> Frame {
        let mut frame = Frame::single(Message::TaskFinished {
            key: TaskKey::new("a"),
            nbytes: 3,
            compute_micros: 1_500,
            thread: 1,
            input_read_micros: 500,
            transfer_micros: 700,
            transfer_bytes: 4096,
        });
        let index = frame.push_payload(Bytes::from_static(b"xyz"));
        frame.push(Message::Data {
            key: TaskKey::new("a"),
            payload: index,
        });
        frame
    }

    #[test]
    fn stream_and_buffer_encodings_agree() {
        let frame = sample_frame();
        let mut written = Vec::new();
        write_frame(&mut written, &frame).expect("write to a Vec");
        let encoded = encode_frame(&frame).expect("encode");
        assert_eq!(written, encoded);
        let (decoded, used) = decode_frame(&encoded).expect("decode");
        assert_eq!(used, encoded.len());
        assert_eq!(decoded, frame);
    }

    #[test]
    fn read_frame_sees_clean_end_only_at_a_boundary() {
        let encoded = encode_frame(&sample_frame()).expect("encode");
        let mut two = encoded.clone();
        two.extend_from_slice(&encoded);
        let mut reader = &two[..];
        assert!(read_frame(&mut reader).expect("first").is_some());
        assert!(read_frame(&mut reader).expect("second").is_some());
        assert!(read_frame(&mut reader).expect("end").is_none());

        let mut cut = &encoded[..encoded.len() - 1];
        let error = read_frame(&mut cut).expect_err("cut frame");
        assert!(
            matches!(&error, FrameError::Io(e) if e.kind() == io::ErrorKind::UnexpectedEof),
            "{error}"
        );
    }

    #[test]
    fn hostile_lengths_are_refused_before_allocating() {
        let mut header = Vec::new();
        header.extend_from_slice(&(MAX_CONTROL_LEN + 1).to_le_bytes());
        header.extend_from_slice(&0u32.to_le_bytes());
        assert!(matches!(
            decode_frame(&header),
            Err(FrameError::Malformed(_))
        ));

        let mut header = Vec::new();
        header.extend_from_slice(&0u32.to_le_bytes());
        header.extend_from_slice(&(MAX_PAYLOAD_COUNT + 1).to_le_bytes());
        assert!(matches!(
            read_frame(&mut &header[..]),
            Err(FrameError::Malformed(_))
        ));

        // A payload claiming an exabyte with only a few bytes behind it: an error, quickly.
        let mut frame = encode_frame(&Frame::new()).expect("encode");
        frame[4..8].copy_from_slice(&1u32.to_le_bytes());
        frame.splice(8..8, (1u64 << 60).to_le_bytes());
        frame.extend_from_slice(b"abc");
        assert!(matches!(
            decode_frame(&frame),
            Err(FrameError::Malformed(_))
        ));
        assert!(matches!(
            read_frame(&mut &frame[..]),
            Err(FrameError::Io(_))
        ));
    }

    #[test]
    fn frames_over_the_limits_are_not_encoded() {
        let mut frame = Frame::new();
        frame.payloads = vec![Bytes::new(); MAX_PAYLOAD_COUNT as usize + 1];
        assert!(matches!(
            encode_frame_head(&frame),
            Err(FrameError::TooLarge(_))
        ));
        let mut written = Vec::new();
        let error = write_frame(&mut written, &frame).expect_err("too many payloads");
        assert_eq!(error.kind(), io::ErrorKind::InvalidInput);
        assert!(written.is_empty());
    }

    #[test]
    fn trailing_control_bytes_are_malformed() {
        let mut encoded = encode_frame(&Frame::new()).expect("encode");
        encoded[0..4].copy_from_slice(&2u32.to_le_bytes());
        encoded.push(0);
        let error = decode_frame(&encoded).expect_err("stray byte");
        assert!(error.to_string().contains("stray"), "{error}");
    }
}
