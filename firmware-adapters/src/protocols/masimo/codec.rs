//! One Masimo ASCII 1 line to a typed record, with a strict per-token grammar.

use super::frame::{is_timestamp, TIMESTAMP_LEN};
use super::{AlarmFlags, ExceptionFlags, MasimoError};
use crate::{Metric, Reading, Unit, Validity};

/// The device clock at the start of a line. No time zone; the year is 20YY.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeviceClock {
    /// Year, 2000-2099.
    pub year: u16,
    /// Month, 1-12.
    pub month: u8,
    /// Day of month, 1-31.
    pub day: u8,
    /// Hour, 0-23.
    pub hour: u8,
    /// Minute, 0-59.
    pub minute: u8,
    /// Second, 0-59.
    pub second: u8,
}

/// A numeric field that was sent: a value, or dashes for "no value".
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Numeric {
    /// The device sent dashes.
    Missing,
    /// The device sent a number.
    Value(f64),
}

impl Numeric {
    /// The number, if one was sent.
    pub fn value(self) -> Option<f64> {
        match self {
            Self::Missing => None,
            Self::Value(v) => Some(v),
        }
    }
}

/// One decoded line. A field is `None` when this model did not send its key.
#[derive(Debug, Clone, PartialEq)]
pub struct MasimoRecord {
    /// The device clock, when the line was sent.
    pub clock: DeviceClock,
    /// `SN`: the device serial number, `None` also when sent as dashes.
    pub serial_number: Option<String>,
    /// `SPO2`: functional oxygen saturation, %.
    pub spo2: Option<Numeric>,
    /// `BPM`: pulse rate, /min.
    pub pulse_rate: Option<Numeric>,
    /// `PI`: perfusion index, %.
    pub perfusion_index: Option<Numeric>,
    /// `SPCO`: carboxyhaemoglobin, %.
    pub spco: Option<Numeric>,
    /// `SPMET`: methaemoglobin, %.
    pub spmet: Option<Numeric>,
    /// `SPHB`: total haemoglobin, g/dL.
    pub sphb: Option<Numeric>,
    /// `SPOC`: oxygen content, mL/dL.
    pub spoc: Option<Numeric>,
    /// `DESAT`: desaturation index.
    pub desat: Option<Numeric>,
    /// `PIDELTA`: change in perfusion index.
    pub pi_delta: Option<Numeric>,
    /// `PVI`: pleth variability index, %.
    pub pvi: Option<Numeric>,
    /// `ALARM`: limit alarm bits.
    pub alarm: Option<AlarmFlags>,
    /// `EXC`: exception bits.
    pub exceptions: Option<ExceptionFlags>,
    /// `EXC1`: second exception word (meaning not published), kept raw.
    pub exceptions1: Option<u32>,
    /// Tokens with keys this parser does not know, as `(key, value)`.
    pub other: Vec<(String, String)>,
}

impl MasimoRecord {
    fn new(clock: DeviceClock) -> Self {
        Self {
            clock,
            serial_number: None,
            spo2: None,
            pulse_rate: None,
            perfusion_index: None,
            spco: None,
            spmet: None,
            sphb: None,
            spoc: None,
            desat: None,
            pi_delta: None,
            pvi: None,
            alarm: None,
            exceptions: None,
            exceptions1: None,
            other: Vec::new(),
        }
    }

    /// The validity the `EXC` bits give SpO2, pulse rate and PI.
    pub fn validity(&self) -> Validity {
        self.exceptions
            .map_or(Validity::Valid, ExceptionFlags::validity)
    }

    /// SpO2, pulse rate and PI as readings; missing values give none.
    pub fn readings(&self) -> Vec<Reading> {
        let validity = self.validity();
        [
            (Metric::Spo2, self.spo2, Unit::Percent),
            (Metric::PulseRate, self.pulse_rate, Unit::PerMinute),
            (Metric::PerfusionIndex, self.perfusion_index, Unit::Percent),
        ]
        .into_iter()
        .filter_map(|(metric, field, unit)| {
            let value = field?.value()?;
            Some(Reading {
                metric,
                value,
                unit,
                device_time: None,
                validity,
            })
        })
        .collect()
    }
}

/// How a numeric value may look (besides all dashes).
#[derive(Debug, Clone, Copy)]
struct Shape {
    /// Digits after a decimal point, at most (0: no point allowed).
    frac: usize,
    /// A `%` suffix is allowed.
    percent: bool,
    /// A leading `+` or `-` is allowed.
    signed: bool,
}

const INT: Shape = Shape {
    frac: 0,
    percent: false,
    signed: false,
};
const INT_PCT: Shape = Shape {
    percent: true,
    ..INT
};
const DEC: Shape = Shape { frac: 2, ..INT };
const DEC_PCT: Shape = Shape { frac: 2, ..INT_PCT };
const SIGNED: Shape = Shape {
    signed: true,
    ..INT
};

/// Parses one line (without its line end).
///
/// # Errors
///
/// Any token that breaks its grammar rejects the whole line: without a
/// checksum, that is the only sign of a corrupted line.
pub fn parse_line(line: &[u8]) -> Result<MasimoRecord, MasimoError> {
    let text = std::str::from_utf8(line).map_err(|_| MasimoError::NotAscii)?;
    if !text
        .bytes()
        .all(|b| b == b' ' || b == b'\t' || b.is_ascii_graphic())
    {
        return Err(MasimoError::NotAscii);
    }
    let text = text.trim();
    let stamp = text.get(..TIMESTAMP_LEN).unwrap_or(text);
    let mut record = MasimoRecord::new(parse_clock(stamp)?);
    let rest = text.get(TIMESTAMP_LEN..).unwrap_or_default();
    if !rest.is_empty() && !rest.starts_with([' ', '\t']) {
        return Err(bad_timestamp(text));
    }
    let mut seen: Vec<&str> = Vec::new();
    for token in rest.split_ascii_whitespace() {
        let (key, value) = split_token(token)?;
        if seen.contains(&key) {
            return Err(MasimoError::DuplicateKey {
                key: key.to_owned(),
            });
        }
        seen.push(key);
        apply(&mut record, key, value)?;
    }
    Ok(record)
}

fn bad_timestamp(text: &str) -> MasimoError {
    let text = text.get(..TIMESTAMP_LEN).unwrap_or(text).to_owned();
    MasimoError::BadTimestamp { text }
}

fn parse_clock(stamp: &str) -> Result<DeviceClock, MasimoError> {
    let bytes = stamp.as_bytes();
    if !is_timestamp(bytes) {
        return Err(bad_timestamp(stamp));
    }
    let two = |at: usize| -> u8 {
        let digit = |i: usize| bytes.get(i).map_or(0, |b| b.saturating_sub(b'0'));
        digit(at) * 10 + digit(at + 1)
    };
    let clock = DeviceClock {
        month: two(0),
        day: two(3),
        year: 2000 + u16::from(two(6)),
        hour: two(9),
        minute: two(12),
        second: two(15),
    };
    let valid = (1..=12).contains(&clock.month)
        && (1..=31).contains(&clock.day)
        && clock.hour < 24
        && clock.minute < 60
        && clock.second < 60;
    if valid {
        Ok(clock)
    } else {
        Err(bad_timestamp(stamp))
    }
}

fn split_token(token: &str) -> Result<(&str, &str), MasimoError> {
    let bad = || MasimoError::BadToken {
        token: token.to_owned(),
    };
    let (key, value) = token.split_once('=').ok_or_else(bad)?;
    let mut chars = key.chars();
    let key_ok = key.len() <= 16
        && chars.next().is_some_and(|c| c.is_ascii_uppercase())
        && chars.all(|c| c.is_ascii_uppercase() || c.is_ascii_digit());
    if key_ok {
        Ok((key, value))
    } else {
        Err(bad())
    }
}

fn apply(record: &mut MasimoRecord, key: &str, value: &str) -> Result<(), MasimoError> {
    let num = |shape| numeric(key, value, shape).map(Some);
    match key {
        "SN" => record.serial_number = serial(key, value)?,
        "SPO2" => record.spo2 = num(INT_PCT)?,
        "BPM" => record.pulse_rate = num(INT)?,
        "PI" => record.perfusion_index = num(DEC_PCT)?,
        "SPCO" => record.spco = num(DEC_PCT)?,
        "SPMET" => record.spmet = num(DEC_PCT)?,
        "SPHB" => record.sphb = num(DEC)?,
        "SPOC" => record.spoc = num(DEC)?,
        "DESAT" => record.desat = num(INT)?,
        "PIDELTA" => record.pi_delta = num(SIGNED)?,
        "PVI" => record.pvi = num(INT_PCT)?,
        "ALARM" => record.alarm = Some(AlarmFlags(hex(key, value)?)),
        "EXC" => record.exceptions = Some(ExceptionFlags(hex(key, value)?)),
        "EXC1" => record.exceptions1 = Some(hex(key, value)?),
        _ => record.other.push((key.to_owned(), value.to_owned())),
    }
    Ok(())
}

fn bad_value(key: &str, value: &str) -> MasimoError {
    MasimoError::BadValue {
        key: key.to_owned(),
        value: value.to_owned(),
    }
}

/// Parses a number of the given shape, or dashes of the same shape.
fn numeric(key: &str, value: &str, shape: Shape) -> Result<Numeric, MasimoError> {
    let bad = || bad_value(key, value);
    let body = match value.strip_suffix('%') {
        Some(body) if shape.percent => body,
        Some(_) => return Err(bad()),
        None => value,
    };
    let (negative, body) = match body.as_bytes().first() {
        Some(b'+') if shape.signed => (false, body.get(1..).unwrap_or_default()),
        Some(b'-') if shape.signed => (true, body.get(1..).unwrap_or_default()),
        _ => (false, body),
    };
    let (int, frac) = body.split_once('.').unwrap_or((body, ""));
    let has_point = body.contains('.');
    if int.is_empty() || (has_point && (shape.frac == 0 || frac.is_empty())) {
        return Err(bad());
    }
    if int.len() > 5 || frac.len() > shape.frac {
        return Err(bad());
    }
    let all = |s: &str, f: fn(&u8) -> bool| s.as_bytes().iter().all(f);
    if all(int, |&b| b == b'-') && all(frac, |&b| b == b'-') {
        return Ok(Numeric::Missing);
    }
    if int.len() > 3 || !all(int, u8::is_ascii_digit) || !all(frac, u8::is_ascii_digit) {
        return Err(bad());
    }
    let magnitude: f64 = body.parse().map_err(|_| bad())?;
    Ok(Numeric::Value(if negative {
        -magnitude
    } else {
        magnitude
    }))
}

fn serial(key: &str, value: &str) -> Result<Option<String>, MasimoError> {
    let ok_len = (1..=20).contains(&value.len());
    if ok_len && value.bytes().all(|b| b == b'-') {
        Ok(None)
    } else if ok_len && value.bytes().all(|b| b.is_ascii_alphanumeric()) {
        Ok(Some(value.to_owned()))
    } else {
        Err(bad_value(key, value))
    }
}

fn hex(key: &str, value: &str) -> Result<u32, MasimoError> {
    let ok = (1..=8).contains(&value.len()) && value.bytes().all(|b| b.is_ascii_hexdigit());
    ok.then(|| u32::from_str_radix(value, 16).ok())
        .flatten()
        .ok_or_else(|| bad_value(key, value))
}
