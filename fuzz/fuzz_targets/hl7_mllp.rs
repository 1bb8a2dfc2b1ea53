//! MLLP framing, then every framed message through the HL7 decoder, the
//! routing and the ACK builder. The first byte sets the piece size, so the same
//! stream is also fed split at arbitrary points.
#![no_main]

use firmware_adapters::mllp::{KnownBed, KnownDevice, Routing, UnknownSenders};
use firmware_adapters::protocols::hl7::{build_ack, AckCode, MllpFramer};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&split, stream)) = data.split_first() else {
        return;
    };
    let routing = Routing::new(
        &[KnownDevice {
            device_id: "m".to_owned(),
            eui64: 0x0012_AB00_FFFE_0001,
            bed_id: None,
        }],
        &[KnownBed {
            location: ["ICU".to_owned(), "1".to_owned(), "3".to_owned()],
            bed_id: "b".to_owned(),
        }],
        UnknownSenders::Accept,
    );
    let mut framer = MllpFramer::with_limit(4096);
    for piece in stream.chunks(usize::from(split).max(1)) {
        for message in framer.feed(piece).into_iter().flatten() {
            match routing.route(&message, Some(60)) {
                Ok(routed) => {
                    let (code, detail) = routed.ack();
                    let _ = build_ack(&routed.header, code, detail.as_ref(), "A1", "2024");
                }
                Err(refusal) => {
                    let _ = build_ack(
                        &refusal.header,
                        AckCode::Reject,
                        Some(&refusal.detail),
                        "A",
                        "",
                    );
                }
            }
        }
    }
});
