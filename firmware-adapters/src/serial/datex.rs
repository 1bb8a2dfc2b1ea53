//! Datex S/5 session: request the displayed values, decode the stream, and
//! request again when it stops.
//!
//! One PHDB request starts a periodic stream; the monitor needs no polling
//! and no keep-alive. On start (the port opened, or the watchdog found the
//! line silent) the session sends the displayed-values request again: field
//! reports say some monitors stop sending until asked anew. Each record's
//! basic-class subrecords give one batch; the measurements without a metric
//! are kept raw on the status board under `group.field` (with the label of
//! invasive pressures, `Invasive(2)[CVP].mean`); subrecords of the extended
//! classes and records of other main types, which are not decoded, are kept
//! as hexadecimal text under `undecoded.<class or type>`.

use tokio::time::Instant;

use super::session::{noise_kind, Output, Session};
use crate::protocols::datex::{
    pressure_label_name, DatexFramer, DriRecord, Group, MainType, PhdbRequest,
};

/// A Datex session.
#[derive(Debug)]
pub(crate) struct DatexSession {
    framer: DatexFramer,
    interval_s: i16,
    dri_level: u8,
}

impl DatexSession {
    pub(crate) fn new(interval_s: u16, dri_level: u8) -> Self {
        Self {
            framer: DatexFramer::new(),
            interval_s: i16::try_from(interval_s).unwrap_or(i16::MAX),
            dri_level,
        }
    }

    fn record(&self, bytes: &[u8], out: &mut Output) {
        let record = match DriRecord::parse(bytes) {
            Ok(r) => r,
            Err(e) => return out.error(noise_kind(e.is_framing()), e),
        };
        out.frames += 1;
        if record.header.main_type != MainType::Phdb {
            // Waves, alarms: never requested, not decoded, kept raw.
            let name = format!("undecoded.{:?}", record.header.main_type);
            return out.raw_text(name, hex(bytes));
        }
        let subrecords = match record.physiological() {
            Ok(s) => s,
            Err(e) => return out.error("decode", e),
        };
        for sub in subrecords {
            let Some(basic) = sub.basic() else {
                // Extended classes are not decoded; kept raw, by class.
                let name = format!("undecoded.{:?}", sub.class());
                out.raw_text(name, hex(sub.as_bytes()));
                continue;
            };
            for field in basic.unmapped() {
                let label = basic.group(field.group).map_or(0, |h| h.label);
                let group = match field.group {
                    Group::Invasive(_) => format!(
                        "{:?}[{}]",
                        field.group,
                        pressure_label_name(label).unwrap_or("?")
                    ),
                    g => format!("{g:?}"),
                };
                out.raw_number(format!("{group}.{}", field.name), f64::from(field.raw));
            }
            out.batch(basic.readings());
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}

impl Session for DatexSession {
    fn start(&mut self, _now: Instant, out: &mut Output) {
        self.framer = DatexFramer::new();
        let request = PhdbRequest::displayed(self.interval_s);
        out.send
            .extend_from_slice(&request.to_frame(self.dri_level));
    }

    fn receive(&mut self, bytes: &[u8], _now: Instant, out: &mut Output) {
        for item in self.framer.feed(bytes) {
            match item {
                Ok(record) => self.record(&record, out),
                Err(e) => out.error(noise_kind(e.is_framing()), e),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocols::datex::{BasicValues, DriHeader, GroupHeader, Subrecord};
    use crate::{Metric, Validity};

    fn record(hr: i16) -> Vec<u8> {
        let mut basic = BasicValues::default();
        basic.set_group(Group::Ecg, GroupHeader::EXISTS | GroupHeader::ACTIVE, 0);
        basic.set(Group::Ecg, "hr", hr);
        basic.set(Group::Ecg, "st1", 12);
        DriRecord {
            header: DriHeader {
                record_number: 1,
                dri_level: 0,
                plug_id: 0,
                time: 1_700_000_000,
                main_type: MainType::Phdb,
            },
            subrecords: vec![Subrecord {
                sr_type: 1,
                data: basic.to_bytes(1_700_000_000),
            }],
        }
        .to_frame()
        .unwrap()
    }

    #[test]
    fn start_sends_the_displayed_values_request() {
        let mut s = DatexSession::new(5, 0);
        let mut out = Output::default();
        s.start(Instant::now(), &mut out);
        let mut framer = DatexFramer::new();
        let frames = framer.feed(&out.send);
        let rec = DriRecord::parse(frames[0].as_ref().unwrap()).unwrap();
        let req = PhdbRequest::parse(&rec).unwrap();
        assert_eq!(req, PhdbRequest::displayed(5));
    }

    #[test]
    fn a_record_gives_readings_and_raw_values_and_noise_is_skipped() {
        let mut s = DatexSession::new(5, 0);
        let mut out = Output::default();
        let mut bytes = vec![0x13, 0x37];
        bytes.extend(record(61));
        s.receive(&bytes, Instant::now(), &mut out);
        assert_eq!(out.frames, 1);
        assert_eq!(out.errors[0].0, "noise");
        let r = &out.batches[0][0];
        assert_eq!(
            (r.metric, r.value, r.validity),
            (Metric::HeartRate, 61.0, Validity::Valid)
        );
        assert!(out.raw.iter().any(|v| v.name == "Ecg.st1"), "{:?}", out.raw);
    }

    #[test]
    fn extended_class_subrecords_and_other_records_are_kept_raw() {
        let mut ext = BasicValues::default().to_bytes(1);
        ext[276..278].copy_from_slice(&0x0100u16.to_le_bytes());
        let header = DriHeader {
            record_number: 1,
            dri_level: 0,
            plug_id: 0,
            time: 1,
            main_type: MainType::Phdb,
        };
        let phdb = DriRecord {
            header,
            subrecords: vec![Subrecord {
                sr_type: 1,
                data: ext,
            }],
        };
        let wave = DriRecord {
            header: DriHeader {
                main_type: MainType::Wave,
                ..header
            },
            subrecords: vec![Subrecord {
                sr_type: 1,
                data: vec![1, 2],
            }],
        };
        let mut bytes = phdb.to_frame().unwrap();
        bytes.extend(wave.to_frame().unwrap());
        let mut s = DatexSession::new(5, 0);
        let mut out = Output::default();
        s.receive(&bytes, Instant::now(), &mut out);
        assert_eq!(out.frames, 2);
        assert!(out.batches.is_empty());
        let names: Vec<&str> = out.raw.iter().map(|v| v.name.as_str()).collect();
        assert_eq!(names, ["undecoded.Ext1", "undecoded.Wave"]);
    }
}
