//! Per-chunk spill encoding: optional LZ4 (block format, `lz4_flex`) kept only when it shrinks
//! the chunk by at least 25%, decided cheaply from a 64 KiB sample first.
//!
//! Pure transformations of byte buffers; this module must not touch files.

use bytes::Bytes;

/// Chunks smaller than this are stored as they are.
const MIN_COMPRESS_LEN: usize = 4096;
/// Bytes compressed to judge whether a chunk is worth compressing.
const SAMPLE_LEN: usize = 64 * 1024;
/// Keep the compressed form only at or below this fraction of the raw size.
const KEEP_RATIO: f64 = 0.75;

/// Whether spilled chunks may be compressed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Compression {
    /// Never compress.
    Off,
    /// LZ4 per chunk when it saves at least 25%.
    #[default]
    Lz4,
}

/// A chunk ready to be written.
#[derive(Clone, Debug)]
pub struct EncodedChunk {
    /// The bytes to write (the original chunk when not compressed: no copy).
    pub payload: Bytes,
    /// True when `payload` is LZ4 block data.
    pub compressed: bool,
    /// Length of the original chunk.
    pub raw_len: u64,
}

/// Encode `chunk` for spilling.
pub fn encode(chunk: &Bytes, compression: Compression) -> EncodedChunk {
    let raw = EncodedChunk {
        payload: chunk.clone(),
        compressed: false,
        raw_len: chunk.len() as u64,
    };
    if compression == Compression::Off || chunk.len() < MIN_COMPRESS_LEN {
        return raw;
    }
    if chunk.len() > SAMPLE_LEN {
        let sample = &chunk[..SAMPLE_LEN];
        let packed = lz4_flex::block::compress(sample);
        if packed.len() as f64 > KEEP_RATIO * sample.len() as f64 {
            return raw;
        }
    }
    let packed = lz4_flex::block::compress(chunk);
    if packed.len() as f64 > KEEP_RATIO * chunk.len() as f64 {
        return raw;
    }
    EncodedChunk {
        payload: Bytes::from(packed),
        compressed: true,
        raw_len: chunk.len() as u64,
    }
}

/// Decode a payload read from disk back into the original chunk; the error says what is wrong.
pub fn decode(payload: Bytes, compressed: bool, raw_len: u64) -> Result<Bytes, String> {
    if !compressed {
        if payload.len() as u64 != raw_len {
            return Err(format!("read {} bytes, expected {raw_len}", payload.len()));
        }
        return Ok(payload);
    }
    let len = usize::try_from(raw_len).map_err(|_| format!("size {raw_len} too large"))?;
    let mut out = vec![0u8; len];
    let written = lz4_flex::block::decompress_into(&payload, &mut out)
        .map_err(|e| format!("LZ4 data does not decode: {e}"))?;
    if written != len {
        return Err(format!("decoded {written} bytes, expected {raw_len}"));
    }
    Ok(Bytes::from(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn random_f64(n: usize) -> Bytes {
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut v = Vec::with_capacity(n * 8);
        for _ in 0..n {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            v.extend_from_slice(&((x >> 11) as f64 / (1u64 << 53) as f64).to_le_bytes());
        }
        Bytes::from(v)
    }

    #[test]
    fn zeros_compress_and_round_trip() {
        let chunk = Bytes::from(vec![0u8; 1 << 20]);
        let enc = encode(&chunk, Compression::Lz4);
        assert!(enc.compressed);
        assert!(enc.payload.len() < chunk.len() / 100);
        let back = decode(enc.payload.clone(), true, enc.raw_len).unwrap();
        assert_eq!(back, chunk);
    }

    #[test]
    fn random_doubles_stay_raw_without_copy() {
        let chunk = random_f64(100_000);
        let enc = encode(&chunk, Compression::Lz4);
        assert!(!enc.compressed);
        assert_eq!(enc.payload.as_ptr(), chunk.as_ptr());
    }

    #[test]
    fn off_small_and_corrupt() {
        let zeros = Bytes::from(vec![0u8; 1 << 16]);
        assert!(!encode(&zeros, Compression::Off).compressed);
        assert!(!encode(&Bytes::from(vec![0u8; 100]), Compression::Lz4).compressed);
        assert!(decode(Bytes::from_static(&[1, 2, 3]), false, 4)
            .unwrap_err()
            .contains("expected 4"));
        assert!(decode(Bytes::from(vec![0xFF; 8]), true, 1000).is_err());
    }
}
