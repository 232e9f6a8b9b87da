//! Fuzz target: `decode_frame` and `read_frame` on arbitrary bytes must never panic, and any
//! frame they accept must re-encode and decode to the same bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tessera::protocol::{decode_frame, encode_frame, read_frame};

fuzz_target!(|data: &[u8]| {
    let decoded = decode_frame(data);
    let streamed = read_frame(&mut &data[..]);
    if let Ok((frame, used)) = decoded {
        assert!(used <= data.len());
        let canonical = encode_frame(&frame).expect("an accepted frame re-encodes");
        let (again, _) = decode_frame(&canonical).expect("a re-encoded frame decodes");
        assert_eq!(encode_frame(&again).expect("re-encode"), canonical);
        let streamed = streamed.ok().flatten().expect("the stream reader accepts it too");
        assert_eq!(encode_frame(&streamed).expect("re-encode"), canonical);
    }
});
