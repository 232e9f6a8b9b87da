//! A fuzzing stand-in that runs in CI: 10,000 random and mutated byte strings thrown at
//! `decode_frame`. It must never panic or over-allocate, and whatever it accepts must
//! re-encode to a frame that decodes to the same value. (The coverage-guided target lives in
//! `fuzz/fuzz_targets/frame_decoder.rs`.)

mod support;

use proptest::collection::vec;
use proptest::prelude::*;
use support::arbitrary_frames;
use tessera::protocol::{decode_frame, encode_frame, read_frame};

/// One way of damaging a valid encoding.
#[derive(Clone, Debug)]
enum Mutation {
    FlipBit {
        at: usize,
        bit: u8,
    },
    SetByte {
        at: usize,
        value: u8,
    },
    Truncate {
        at: usize,
    },
    Insert {
        at: usize,
        bytes: Vec<u8>,
    },
    /// Overwrite a 4- or 8-byte little-endian length field with an extreme value.
    HugeLength {
        at: usize,
        wide: bool,
    },
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), 0u8..8).prop_map(|(at, bit)| Mutation::FlipBit { at, bit }),
        (any::<usize>(), any::<u8>()).prop_map(|(at, value)| Mutation::SetByte { at, value }),
        any::<usize>().prop_map(|at| Mutation::Truncate { at }),
        (any::<usize>(), vec(any::<u8>(), 1..16))
            .prop_map(|(at, bytes)| Mutation::Insert { at, bytes }),
        (any::<usize>(), any::<bool>()).prop_map(|(at, wide)| Mutation::HugeLength { at, wide }),
    ]
}

fn apply(bytes: &mut Vec<u8>, mutation: &Mutation) {
    let len = bytes.len();
    if len == 0 {
        return;
    }
    match mutation {
        Mutation::FlipBit { at, bit } => bytes[at % len] ^= 1 << bit,
        Mutation::SetByte { at, value } => bytes[at % len] = *value,
        Mutation::Truncate { at } => bytes.truncate(at % len),
        Mutation::Insert { at, bytes: extra } => {
            let at = at % len;
            bytes.splice(at..at, extra.iter().copied());
        }
        Mutation::HugeLength { at, wide } => {
            let width = if *wide { 8 } else { 4 };
            if len >= width {
                let at = at % (len - width + 1);
                bytes[at..at + width].fill(0xff);
            }
        }
    }
}

/// Decode `bytes`; if accepted, the frame must survive a re-encode. Frames are compared by
/// their canonical encoding, because mutated floats may be NaN (never equal to themselves).
fn check(bytes: &[u8]) -> Result<(), TestCaseError> {
    let decoded = decode_frame(bytes);
    let streamed = read_frame(&mut &bytes[..]);
    if let Ok((frame, used)) = decoded {
        prop_assert!(used <= bytes.len());
        let canonical = encode_frame(&frame).expect("an accepted frame re-encodes");
        let (round_trip, round_trip_used) =
            decode_frame(&canonical).expect("a re-encoded frame decodes");
        prop_assert_eq!(round_trip_used, canonical.len());
        prop_assert_eq!(&encode_frame(&round_trip).expect("re-encode"), &canonical);
        let streamed = streamed
            .ok()
            .flatten()
            .expect("stream reader accepts it too");
        prop_assert_eq!(&encode_frame(&streamed).expect("re-encode"), &canonical);
    } else {
        prop_assert!(
            !matches!(streamed, Ok(Some(_))),
            "stream reader accepted what decode refused"
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(5_000))]

    #[test]
    fn random_bytes(bytes in vec(any::<u8>(), 0..256)) {
        check(&bytes)?;
    }

    #[test]
    fn mutated_valid_frames(
        frame in arbitrary_frames::frame(),
        mutations in vec(mutation(), 1..4),
    ) {
        let mut bytes = encode_frame(&frame).expect("encode");
        for mutation in &mutations {
            apply(&mut bytes, mutation);
        }
        check(&bytes)?;
    }
}
