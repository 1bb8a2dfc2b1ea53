//! Masimo ASCII 1 session: the device streams a line a second and takes no
//! commands, so starting only forgets a half line.
//!
//! Each parsed line gives one batch (SpO2, pulse rate, PI). The rest of the
//! line is kept raw on the status board: SpCO, SpMet, SpHb, SpOC, PVI, desat
//! index and PI delta as numbers, `ALARM`/`EXC`/`EXC1` as numbers of their
//! bits, the serial number and any key the codec does not know as text.

use tokio::time::Instant;

use super::session::{Output, Session};
use crate::protocols::masimo::{parse_line, LineFramer, MasimoError, MasimoRecord};

/// A Masimo session.
#[derive(Debug, Default)]
pub(crate) struct MasimoSession {
    framer: LineFramer,
}

impl Session for MasimoSession {
    fn start(&mut self, _now: Instant, _out: &mut Output) {
        self.framer = LineFramer::new();
    }

    fn receive(&mut self, bytes: &[u8], _now: Instant, out: &mut Output) {
        for line in self.framer.feed(bytes) {
            match line.and_then(|l| parse_line(&l)) {
                Ok(record) => {
                    out.frames += 1;
                    keep_raw(&record, out);
                    out.batch(record.readings());
                }
                Err(e) => {
                    let kind = match e {
                        MasimoError::Garbage { .. }
                        | MasimoError::LineTooLong { .. }
                        | MasimoError::NotAscii => "noise",
                        _ => "decode",
                    };
                    out.error(kind, e);
                }
            }
        }
    }
}

fn keep_raw(r: &MasimoRecord, out: &mut Output) {
    let numbers = [
        ("SPCO", r.spco),
        ("SPMET", r.spmet),
        ("SPHB", r.sphb),
        ("SPOC", r.spoc),
        ("DESAT", r.desat),
        ("PIDELTA", r.pi_delta),
        ("PVI", r.pvi),
    ];
    for (key, value) in numbers {
        if let Some(v) = value.and_then(|n| n.value()) {
            out.raw_number(key.into(), v);
        }
    }
    let bits = [
        ("ALARM", r.alarm.map(|a| a.0)),
        ("EXC", r.exceptions.map(|e| e.0)),
        ("EXC1", r.exceptions1),
    ];
    for (key, value) in bits {
        if let Some(v) = value {
            out.raw_number(key.into(), f64::from(v));
        }
    }
    if let Some(sn) = &r.serial_number {
        out.raw_text("SN".into(), sn.clone());
    }
    for (key, value) in &r.other {
        out.raw_text(key.clone(), value.clone());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modbus::StatusData;
    use crate::{Metric, Validity};

    const LINE: &[u8] = b"12/01/05 11:56:29 SN=0123456789 SPO2=098% BPM=072 PI=02.50% SPCO=01.0% \
SPMET=00.5% DESAT=01 PIDELTA=-02 PVI=027 ALARM=0000 EXC=000000 RESVD=---\r\n";

    #[test]
    fn a_line_gives_readings_and_keeps_the_rest_raw() {
        let mut s = MasimoSession::default();
        let (now, mut out) = (Instant::now(), Output::default());
        s.start(now, &mut out);
        assert!(out.send.is_empty());
        s.receive(LINE, now, &mut out);
        assert_eq!(out.frames, 1, "{:?}", out.errors);
        let metrics: Vec<_> = out.batches[0]
            .iter()
            .map(|r| (r.metric, r.value, r.validity))
            .collect();
        assert_eq!(
            metrics,
            [
                (Metric::Spo2, 98.0, Validity::Valid),
                (Metric::PulseRate, 72.0, Validity::Valid),
                (Metric::PerfusionIndex, 2.5, Validity::Valid)
            ]
        );
        let raw = |name: &str| {
            out.raw
                .iter()
                .find(|v| v.name == name)
                .map(|v| v.value.clone())
        };
        assert_eq!(raw("SPCO"), Some(StatusData::Number(1.0)));
        assert_eq!(raw("RESVD"), Some(StatusData::Text("---".into())));
    }

    #[test]
    fn garbage_before_a_line_is_noise_and_the_line_survives() {
        let mut s = MasimoSession::default();
        let (now, mut out) = (Instant::now(), Output::default());
        let mut bytes = b"\x13\x37zz".to_vec();
        bytes.extend_from_slice(LINE);
        s.receive(&bytes, now, &mut out);
        assert_eq!(out.frames, 1);
        assert_eq!(out.errors[0].0, "noise");
    }
}
