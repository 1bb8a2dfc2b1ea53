//! One HL7 v2 message: segments, delimiters, escapes, ORU^R01 decoding, the
//! readings and the observations kept raw.
#![no_main]

use firmware_adapters::protocols::hl7::{Message, MessageHeader, OruMessage};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(message) = Message::parse(data) else {
        return;
    };
    let header = MessageHeader::read(&message);
    let _ = message.delimiters().escape(&header.control_id);
    for segment in message.segments() {
        for field in 0..20 {
            let _ = segment.component(field, 2);
            let _ = segment.components_lossy(field);
        }
    }
    if let Ok(oru) = OruMessage::decode(&message) {
        let _ = oru.readings(None);
        let _ = oru.readings(Some(-720));
        let _ = oru.unknown();
    }
});
