//! A fast, non-cryptographic hasher for the scheduler's internal maps (the rustc "Fx" hash).
//!
//! Keys come from authenticated clients and workers of one user's cluster, so resistance to
//! hash flooding is not needed and the default SipHash would only cost time on every event.
//! Must not be used for anything security-related.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;
const FOLD: u64 = 0xbf58_476d_1ce4_e5b9;

/// The Fx hasher: rotate, xor, multiply per word.
#[derive(Default, Clone, Copy)]
pub(super) struct FastHasher {
    hash: u64,
}

impl FastHasher {
    #[inline]
    fn add(&mut self, word: u64) {
        self.hash = (self.hash.rotate_left(5) ^ word).wrapping_mul(SEED);
    }
}

impl Hasher for FastHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            self.add(u64::from_le_bytes(word));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut word = [0u8; 8];
            word[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(word) ^ ((rest.len() as u64) << 59));
        }
    }

    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }

    #[inline]
    fn write_u32(&mut self, i: u32) {
        self.add(u64::from(i));
    }

    #[inline]
    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }

    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }

    #[inline]
    fn finish(&self) -> u64 {
        // Fx leaves the low bits (the bucket index) depending on the low input bits only; fold
        // the well-mixed high half down so keys differing in their last characters spread.
        let folded = self.hash ^ (self.hash >> 32);
        folded.wrapping_mul(FOLD) ^ (folded >> 29)
    }
}

/// A `HashMap` using [`FastHasher`].
pub(super) type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<FastHasher>>;
