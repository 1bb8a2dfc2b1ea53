//! The four simulated devices: each turns the patient's vitals into its
//! protocol's bytes and answers the host's commands.

use std::time::{Duration, SystemTime};

use crate::profile::serial::{SerialProfile, SerialProtocol};
use crate::protocols::datex::{
    BasicValues, DatexFramer, DriHeader, DriRecord, Group, GroupHeader, MainType, PhdbRequest,
    Subrecord, NO_DATA,
};
use crate::protocols::medibus::{
    encode_empty_response, Command, FrameKind, MeasuredData, MeasuredItem, MedibusFrame,
    MedibusFramer,
};
use crate::protocols::nonin::DataFormat;

/// The patient's values at one moment, as the devices report them.
#[derive(Debug, Clone, PartialEq)]
pub struct Vitals {
    /// ECG heart rate, /min.
    pub heart_rate: f64,
    /// Oximeter pulse rate, /min.
    pub pulse_rate: f64,
    /// SpO2, %.
    pub spo2: f64,
    /// Perfusion index, %.
    pub perfusion_index: f64,
    /// Respiratory rate, /min.
    pub respiratory_rate: f64,
    /// Body temperature, Cel.
    pub temperature: f64,
    /// A cuff pressure completed this tick: systolic, diastolic, mean mmHg.
    pub nibp: Option<(f64, f64, f64)>,
    /// End-tidal CO2, mmHg.
    pub etco2_mmhg: f64,
    /// The sensor is off the patient.
    pub sensor_off: bool,
}

/// One simulated device model.
pub trait DeviceModel: Send + std::fmt::Debug {
    /// How often [`DeviceModel::tick`] runs.
    fn period(&self) -> Duration;

    /// The host sent `bytes`; append the answer to `out`.
    fn receive(&mut self, bytes: &[u8], vitals: &Vitals, out: &mut Vec<u8>);

    /// The period passed; append what the device sends on its own to `out`.
    fn tick(&mut self, vitals: &Vitals, now: SystemTime, out: &mut Vec<u8>);
}

/// The simulated device for a profile.
pub fn model_for(profile: &SerialProfile) -> Box<dyn DeviceModel> {
    match profile.protocol {
        SerialProtocol::Nonin => Box::new(Nonin {
            format: match profile.nonin_format {
                Some(2) => DataFormat::Format2,
                Some(7) => DataFormat::Format7,
                _ => DataFormat::Format8,
            },
            timer: 0,
            host: Vec::new(),
        }),
        SerialProtocol::Masimo => Box::new(Masimo),
        SerialProtocol::Datex => Box::new(Datex {
            framer: DatexFramer::new(),
            interval: None,
            due: 0,
        }),
        SerialProtocol::Medibus => Box::new(Medibus {
            framer: MedibusFramer::new(),
        }),
        SerialProtocol::Intellivue => Box::new(super::intellivue::Monitor::default()),
    }
}

fn clamp_u16(v: f64) -> u16 {
    // Clamped into range first, so the cast cannot truncate or wrap.
    #[expect(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "clamped"
    )]
    let out = v.round().clamp(0.0, f64::from(u16::MAX)) as u16;
    out
}

fn clamp_i16(v: f64) -> i16 {
    #[expect(clippy::cast_possible_truncation, reason = "clamped")]
    let out = v.round().clamp(f64::from(i16::MIN), f64::from(i16::MAX)) as i16;
    out
}

/// A Nonin oximeter in format 2, 7 or 8.
#[derive(Debug)]
struct Nonin {
    format: DataFormat,
    timer: u16,
    host: Vec<u8>,
}

impl DeviceModel for Nonin {
    fn period(&self) -> Duration {
        match self.format {
            DataFormat::Format8 => Duration::from_secs(1),
            _ => Duration::from_millis(333),
        }
    }

    fn receive(&mut self, bytes: &[u8], _: &Vitals, out: &mut Vec<u8>) {
        self.host.extend_from_slice(bytes);
        let wanted = super::super::select_format(self.format);
        while let Some(start) = self.host.iter().position(|&b| b == 0x02) {
            if self.host.len() < start + wanted.len() {
                self.host.drain(..start);
                return;
            }
            let command: Vec<u8> = self
                .host
                .drain(..start + wanted.len())
                .skip(start)
                .collect();
            let same_shape = command[..4] == wanted[..4] && command[5] == 0x03;
            if same_shape {
                out.push(if command == wanted { 0x06 } else { 0x15 });
            }
        }
        self.host.clear();
    }

    fn tick(&mut self, v: &Vitals, _: SystemTime, out: &mut Vec<u8>) {
        let (hr, spo2) = if v.sensor_off && self.format != DataFormat::Format8 {
            (511, 127)
        } else {
            (
                clamp_u16(v.pulse_rate).min(510),
                u8::try_from(clamp_u16(v.spo2).min(100)).unwrap_or(100),
            )
        };
        let (hr_msb, hr_lsb) = (
            u8::try_from((hr >> 7) & 0x03).unwrap_or(0),
            u8::try_from(hr & 0x7F).unwrap_or(0),
        );
        if self.format == DataFormat::Format8 {
            let (s1, s2) = if v.sensor_off {
                (0xC0, 0x08)
            } else {
                (0x80, 0x00)
            };
            out.extend_from_slice(&[s1 | hr_msb, hr_lsb, spo2, s2]);
            return;
        }
        self.timer = (self.timer + 1) & 0x3FFF;
        let mut floats = [0u8; 25];
        for (at, msb, lsb) in [
            (0, hr_msb, hr_lsb),
            (13, hr_msb, hr_lsb),
            (19, hr_msb, hr_lsb),
            (21, hr_msb, hr_lsb),
        ] {
            floats[at] = msb;
            floats[at + 1] = lsb;
        }
        for at in [2, 8, 9, 10, 15, 16] {
            floats[at] = spo2;
        }
        floats[3] = 42;
        floats[5] = u8::try_from(self.timer >> 7).unwrap_or(0);
        floats[6] = u8::try_from(self.timer & 0x7F).unwrap_or(0);
        for (i, float) in floats.into_iter().enumerate() {
            let mut status = 0x80 | if i == 0 { 0x01 } else { 0 };
            status |= if v.sensor_off {
                0x08
            } else if i % 8 == 0 {
                0x02
            } else {
                0
            };
            let pleth = u16::try_from(i * 8).unwrap_or(0);
            let frame: [u8; 4] = match self.format {
                DataFormat::Format2 => [0x01, status, u8::try_from(pleth).unwrap_or(0), float],
                _ => [status, (pleth >> 8) as u8, (pleth & 0xFF) as u8, float],
            };
            let sum = frame.iter().fold(0u8, |s, &b| s.wrapping_add(b));
            out.extend_from_slice(&frame);
            out.push(sum);
        }
    }
}

/// A Masimo Radical-7 in ASCII 1 mode.
#[derive(Debug)]
struct Masimo;

impl DeviceModel for Masimo {
    fn period(&self) -> Duration {
        Duration::from_secs(1)
    }

    fn receive(&mut self, _: &[u8], _: &Vitals, _: &mut Vec<u8>) {}

    fn tick(&mut self, v: &Vitals, now: SystemTime, out: &mut Vec<u8>) {
        let secs = now
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let (y, mo, d) = civil_date(i64::try_from(secs / 86_400).unwrap_or(0));
        let t = secs % 86_400;
        let clock = format!(
            "{mo:02}/{d:02}/{:02} {:02}:{:02}:{:02}",
            y % 100,
            t / 3600,
            t / 60 % 60,
            t % 60
        );
        let line = if v.sensor_off {
            format!("{clock} SN=0000012345 SPO2=---% BPM=--- PI=--.--% SPCO=--.-% SPMET=--.-% DESAT=-- PIDELTA=+-- PVI=--- ALARM=0000 EXC=000020\r\n")
        } else {
            format!(
                "{clock} SN=0000012345 SPO2={:03}% BPM={:03} PI={:05.2}% SPCO=01.0% SPMET=00.8% DESAT=00 PIDELTA=+00 PVI=014 ALARM=0000 EXC=000000\r\n",
                clamp_u16(v.spo2), clamp_u16(v.pulse_rate), v.perfusion_index
            )
        };
        out.extend_from_slice(line.as_bytes());
    }
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian.
fn civil_date(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = u32::try_from(doy - (153 * mp + 2) / 5 + 1).unwrap_or(1);
    let month = u32::try_from(if mp < 10 { mp + 3 } else { mp - 9 }).unwrap_or(1);
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// A GE S/5 monitor answering the displayed-values request.
#[derive(Debug)]
struct Datex {
    framer: DatexFramer,
    /// The requested interval in ticks (seconds), while streaming.
    interval: Option<u32>,
    /// Ticks until the next record.
    due: u32,
}

impl Datex {
    fn record(v: &Vitals, now: SystemTime) -> Vec<u8> {
        let time = now
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let time = u32::try_from(time).unwrap_or(u32::MAX);
        let on = GroupHeader::EXISTS | GroupHeader::ACTIVE;
        let mut b = BasicValues::default();
        b.set_group(Group::Ecg, on, 0);
        b.set(Group::Ecg, "hr", clamp_i16(v.heart_rate));
        b.set(Group::Ecg, "st1", 5);
        b.set(Group::Ecg, "imp_rr", clamp_i16(v.respiratory_rate));
        b.set_group(Group::Invasive(1), on, 1);
        b.set(Group::Invasive(1), "sys", 12_500);
        b.set(Group::Invasive(1), "dia", 7_800);
        b.set(Group::Invasive(1), "mean", 9_400);
        b.set_group(
            Group::Spo2,
            if v.sensor_off {
                GroupHeader::EXISTS
            } else {
                on
            },
            0,
        );
        let (spo2, pr) = if v.sensor_off {
            (NO_DATA, NO_DATA)
        } else {
            (clamp_i16(v.spo2 * 100.0), clamp_i16(v.pulse_rate))
        };
        b.set(Group::Spo2, "spo2", spo2);
        b.set(Group::Spo2, "pr", pr);
        b.set_group(Group::Co2, on, 0);
        let amb = 7_600.0;
        b.set(Group::Co2, "et", clamp_i16(v.etco2_mmhg / (amb * 1e-5)));
        b.set(Group::Co2, "amb_press", clamp_i16(amb));
        b.set(Group::Co2, "rr", clamp_i16(v.respiratory_rate));
        if let Some((s, d, m)) = v.nibp {
            b.set_group(Group::Nibp, on, 0);
            b.set(Group::Nibp, "sys", clamp_i16(s * 100.0));
            b.set(Group::Nibp, "dia", clamp_i16(d * 100.0));
            b.set(Group::Nibp, "mean", clamp_i16(m * 100.0));
        }
        b.set_group(Group::Temperature(1), on, 0);
        b.set(
            Group::Temperature(1),
            "temp",
            clamp_i16(v.temperature * 100.0),
        );
        let record = DriRecord {
            header: DriHeader {
                record_number: 0,
                dri_level: 0x0B,
                plug_id: 0,
                time,
                main_type: MainType::Phdb,
            },
            subrecords: vec![Subrecord {
                sr_type: 1,
                data: b.to_bytes(time),
            }],
        };
        record.to_frame().unwrap_or_default()
    }
}

impl DeviceModel for Datex {
    fn period(&self) -> Duration {
        Duration::from_secs(1)
    }

    fn receive(&mut self, bytes: &[u8], v: &Vitals, out: &mut Vec<u8>) {
        for record in self.framer.feed(bytes).into_iter().flatten() {
            let request = DriRecord::parse(&record)
                .ok()
                .and_then(|r| PhdbRequest::parse(&r).ok());
            let Some(request) = request else { continue };
            let interval = u32::try_from(request.interval_s).ok().filter(|&s| s > 0);
            self.interval = interval;
            if let Some(s) = interval {
                self.due = s;
                out.extend(Self::record(v, SystemTime::now()));
            }
        }
    }

    fn tick(&mut self, v: &Vitals, now: SystemTime, out: &mut Vec<u8>) {
        let Some(interval) = self.interval else {
            return;
        };
        self.due = self.due.saturating_sub(1);
        if self.due == 0 {
            self.due = interval;
            out.extend(Self::record(v, now));
        }
    }
}

/// A Dräger device answering Medibus code page 1 requests.
#[derive(Debug)]
struct Medibus {
    framer: MedibusFramer,
}

impl Medibus {
    fn measured(v: &Vitals) -> Vec<u8> {
        let number = |code: u8, value: f64, decimals: usize| {
            MeasuredItem::from_number(code, value, decimals)
        };
        let mut items: Vec<MeasuredItem> = [
            number(0xD6, v.respiratory_rate, 0),
            number(0xE6, v.etco2_mmhg, 0),
            number(0x88, 450.0, 0),
            number(0x7D, 18.0, 0),
        ]
        .into_iter()
        .flatten()
        .collect();
        if v.sensor_off {
            items.push(MeasuredItem {
                code: 0xE1,
                value: "----".into(),
            });
            items.push(MeasuredItem {
                code: 0xEB,
                value: "----".into(),
            });
        } else {
            items.extend(number(0xE1, v.pulse_rate, 0));
            items.extend(number(0xEB, v.spo2, 0));
        }
        MeasuredData { items }.to_frame().unwrap_or_default()
    }
}

impl DeviceModel for Medibus {
    fn period(&self) -> Duration {
        Duration::from_secs(1)
    }

    fn receive(&mut self, bytes: &[u8], v: &Vitals, out: &mut Vec<u8>) {
        for frame in self.framer.feed(bytes).into_iter().flatten() {
            if frame.kind != FrameKind::Command {
                continue;
            }
            let answer = match frame.known_command() {
                Some(c @ (Command::Icc | Command::Nop | Command::Stop)) => encode_empty_response(c),
                Some(Command::DeviceId) => {
                    MedibusFrame::response(Command::DeviceId, b"0161'SimVent'01.00      ")
                        .to_bytes()
                        .unwrap_or_default()
                }
                Some(Command::MeasuredCp1) => Self::measured(v),
                _ => continue,
            };
            out.extend(answer);
        }
    }

    fn tick(&mut self, _: &Vitals, _: SystemTime, _: &mut Vec<u8>) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates_of_known_days() {
        assert_eq!(civil_date(0), (1970, 1, 1));
        assert_eq!(civil_date(19_723), (2024, 1, 1));
        assert_eq!(civil_date(19_782), (2024, 2, 29));
    }
}
