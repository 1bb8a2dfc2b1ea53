//! Dräger Medibus: slow-data framing with interleaved realtime bytes, ASCII
//! hex checksums, and code page 1 measured data.
#![no_main]

use firmware_adapters::protocols::medibus::{MeasuredData, MedibusFramer};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&split, stream)) = data.split_first() else {
        return;
    };
    if let Ok(measured) = MeasuredData::parse(stream) {
        let _ = measured.readings();
        let _ = measured.unmapped();
        let _ = measured.to_frame();
    }
    let mut framer = MedibusFramer::new();
    for piece in stream.chunks(usize::from(split).max(1)) {
        for frame in framer.feed(piece).into_iter().flatten() {
            let _ = frame.known_command();
            let _ = frame.to_bytes();
            if let Ok(measured) = MeasuredData::from_frame(&frame) {
                let _ = measured.readings();
            }
        }
    }
    let _ = framer.realtime_bytes();
});
