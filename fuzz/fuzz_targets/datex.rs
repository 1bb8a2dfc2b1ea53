//! Datex-Ohmeda DRI: framing (flags, escapes, checksum), records, physiological
//! subrecords, the basic class and its readings; also the raw input decoded
//! as a record without framing.
#![no_main]

use firmware_adapters::protocols::datex::{DatexFramer, DriRecord, PhdbRequest};
use libfuzzer_sys::fuzz_target;

fn decode(record: &[u8]) {
    let Ok(record) = DriRecord::parse(record) else {
        return;
    };
    let _ = PhdbRequest::parse(&record);
    let _ = record.to_bytes();
    if let Ok(subrecords) = record.physiological() {
        for sub in subrecords {
            let _ = (sub.time(), sub.marker(), sub.class());
            if let Some(basic) = sub.basic() {
                let _ = basic.readings();
                let _ = basic.unmapped();
            }
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&split, stream)) = data.split_first() else {
        return;
    };
    decode(stream);
    let mut framer = DatexFramer::new();
    for piece in stream.chunks(usize::from(split).max(1)) {
        for record in framer.feed(piece).into_iter().flatten() {
            decode(&record);
        }
    }
});
