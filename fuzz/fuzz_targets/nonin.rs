//! Nonin serial formats 2, 7 and 8: frame sync and checksums, packet assembly,
//! 9-bit heart rate and missing values.
#![no_main]

use firmware_adapters::protocols::nonin::{DataFormat, Frame, NoninFramer, PacketAssembler};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&split, stream)) = data.split_first() else {
        return;
    };
    for format in [
        DataFormat::Format2,
        DataFormat::Format7,
        DataFormat::Format8,
    ] {
        let mut framer = NoninFramer::new(format);
        let mut packets = PacketAssembler::new();
        for piece in stream.chunks(usize::from(split).max(1)) {
            for frame in framer.feed(piece).into_iter().flatten() {
                match frame {
                    Frame::Serial(frame) => {
                        if let Some(Ok(packet)) = packets.push(frame) {
                            let _ = packet.values();
                            let _ = packet.readings();
                            let _ = packet.pleth().count();
                        }
                    }
                    Frame::Format8(frame) => {
                        let _ = (frame.pulse_rate(), frame.spo2(), frame.flags());
                        let _ = frame.readings();
                    }
                }
            }
        }
    }
});
