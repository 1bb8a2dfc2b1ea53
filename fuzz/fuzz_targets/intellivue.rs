//! Philips IntelliVue MIB/RS-232: framing (BOF/EOF, transparency, FCS), the
//! message layers, attribute lists, numerics and compound values.
#![no_main]

use firmware_adapters::protocols::intellivue::{
    decode_compound, decode_message, parse_attribute_list, DataMessage, IntellivueFramer,
    NumericObservation,
};
use libfuzzer_sys::fuzz_target;

fn decode(bytes: &[u8]) {
    let _ = decode_message(bytes);
    if let Ok(message) = DataMessage::decode(bytes) {
        let _ = message.operation();
        let _ = message.encode();
    }
    let _ = parse_attribute_list(bytes);
    let _ = decode_compound(bytes);
    if let Ok(observation) = NumericObservation::decode(bytes) {
        let _ = observation.readings();
        let _ = observation.unmapped();
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&split, stream)) = data.split_first() else {
        return;
    };
    decode(stream);
    let mut framer = IntellivueFramer::with_limit(4096);
    for piece in stream.chunks(usize::from(split).max(1)) {
        for user_data in framer.feed(piece).into_iter().flatten() {
            decode(&user_data);
        }
    }
});
