//! Property tests of the frame codec: random frames survive encode → decode and
//! write → read unchanged; truncated and random input is an error, never a panic.

mod support;

use proptest::prelude::*;
use support::arbitrary_frames;
use tessera::protocol::{decode_frame, encode_frame, read_frame, write_frame, FrameError};

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn encoded_frames_decode_unchanged(frame in arbitrary_frames::frame()) {
        let bytes = encode_frame(&frame).expect("encode");
        let (decoded, used) = decode_frame(&bytes).expect("decode");
        prop_assert_eq!(used, bytes.len());
        prop_assert_eq!(decoded, frame);
    }

    #[test]
    fn written_frames_read_back_in_order(
        frames in proptest::collection::vec(arbitrary_frames::frame(), 0..5)
    ) {
        let mut stream = Vec::new();
        for frame in &frames {
            write_frame(&mut stream, frame).expect("write");
        }
        let mut reader = &stream[..];
        for frame in &frames {
            let read = read_frame(&mut reader).expect("read").expect("a frame, not the end");
            prop_assert_eq!(&read, frame);
        }
        prop_assert!(read_frame(&mut reader).expect("clean end").is_none());
    }

    #[test]
    fn a_decode_uses_exactly_one_frame(
        first in arbitrary_frames::frame(),
        second in arbitrary_frames::frame(),
    ) {
        let mut bytes = encode_frame(&first).expect("encode");
        let first_len = bytes.len();
        bytes.extend_from_slice(&encode_frame(&second).expect("encode"));
        let (decoded, used) = decode_frame(&bytes).expect("decode first");
        prop_assert_eq!(used, first_len);
        prop_assert_eq!(decoded, first);
        let (decoded, _) = decode_frame(&bytes[used..]).expect("decode second");
        prop_assert_eq!(decoded, second);
    }

    #[test]
    fn every_truncation_is_an_error(frame in arbitrary_frames::frame()) {
        let bytes = encode_frame(&frame).expect("encode");
        for cut in 0..bytes.len() {
            let decoded = decode_frame(&bytes[..cut]);
            prop_assert!(matches!(decoded, Err(FrameError::Malformed(_))), "cut at {}", cut);
            let read = read_frame(&mut &bytes[..cut]);
            if cut == 0 {
                prop_assert!(matches!(read, Ok(None)), "empty stream is a clean end");
            } else {
                prop_assert!(read.is_err(), "stream cut at {} must be an error", cut);
            }
        }
    }

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        // Whatever comes out, decoding and stream reading agree on success.
        let decoded = decode_frame(&bytes).ok();
        let read = read_frame(&mut &bytes[..]).ok().flatten();
        prop_assert_eq!(decoded.map(|(frame, _)| frame), read);
    }
}
