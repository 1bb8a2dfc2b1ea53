//! Masimo ASCII 1: line framing and the per-token grammar of a line.
#![no_main]

use firmware_adapters::protocols::masimo::{parse_line, LineFramer};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&split, stream)) = data.split_first() else {
        return;
    };
    if let Ok(record) = parse_line(stream) {
        let _ = (record.validity(), record.readings());
    }
    let mut framer = LineFramer::new();
    for piece in stream.chunks(usize::from(split).max(1)) {
        for line in framer.feed(piece).into_iter().flatten() {
            if let Ok(record) = parse_line(&line) {
                let _ = record.readings();
            }
        }
    }
});
