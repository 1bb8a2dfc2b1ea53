//! HL7 DTM timestamps: `YYYY[MM[DD[HH[MM[SS[.S[S[S[S]]]]]]]]][+/-ZZZZ]`.
//!
//! A timestamp without an offset is in the sender's local time, which the message
//! does not state. It is converted to a [`SystemTime`] only with an offset: its own,
//! or one the caller assumes for the sender; otherwise the reading carries no
//! device time and the gateway's receive time stands.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A parsed DTM value. Parts the sender omitted are at their lowest value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hl7Time {
    /// Year.
    pub year: u16,
    /// Month, 1-12.
    pub month: u8,
    /// Day, 1-31.
    pub day: u8,
    /// Hour, 0-23.
    pub hour: u8,
    /// Minute, 0-59.
    pub minute: u8,
    /// Second, 0-59.
    pub second: u8,
    /// Fraction of the second, in nanoseconds.
    pub nanos: u32,
    /// Offset from UTC in minutes, when the timestamp carries one.
    pub offset_minutes: Option<i32>,
}

impl Hl7Time {
    /// Parses a DTM value.
    ///
    /// # Errors
    ///
    /// A static reason when the text is not a DTM or a part is out of range.
    pub fn parse(text: &str) -> Result<Self, &'static str> {
        let (main, offset) = split_offset(text.trim())?;
        let (digits, fraction) = main.split_once('.').unwrap_or((main, ""));
        if ![4, 6, 8, 10, 12, 14].contains(&digits.len()) || !all_digits(digits) {
            return Err("not a YYYY[MM[DD[HH[MM[SS]]]]] timestamp");
        }
        if !fraction.is_empty()
            && (digits.len() != 14 || fraction.len() > 9 || !all_digits(fraction))
        {
            return Err("bad fraction of a second");
        }
        let part = |at: usize, len: usize, default: u32| -> u32 {
            digits
                .get(at..at + len)
                .and_then(|p| p.parse().ok())
                .unwrap_or(default)
        };
        // Up to nine digits, padded on the right to nanoseconds.
        let nanos = fraction
            .bytes()
            .chain(std::iter::repeat(b'0'))
            .take(9)
            .fold(0_u32, |n, d| n * 10 + u32::from(d - b'0'));
        let time = Self {
            year: u16::try_from(part(0, 4, 0)).unwrap_or(0),
            month: small(part(4, 2, 1)),
            day: small(part(6, 2, 1)),
            hour: small(part(8, 2, 0)),
            minute: small(part(10, 2, 0)),
            second: small(part(12, 2, 0)),
            nanos,
            offset_minutes: offset,
        };
        time.check()?;
        Ok(time)
    }

    fn check(&self) -> Result<(), &'static str> {
        let days = days_in_month(self.year, self.month);
        let ok = (1..=12).contains(&self.month)
            && (1..=days).contains(&self.day)
            && self.hour < 24
            && self.minute < 60
            && self.second < 60;
        ok.then_some(()).ok_or("date or time out of range")
    }

    /// The instant, using the timestamp's own offset or else `assumed_offset`
    /// (minutes east of UTC); `None` when neither is known.
    pub fn to_system_time(&self, assumed_offset: Option<i32>) -> Option<SystemTime> {
        let offset = self.offset_minutes.or(assumed_offset)?;
        let days = days_from_civil(i64::from(self.year), self.month, self.day);
        let secs = days * 86_400
            + i64::from(self.hour) * 3600
            + i64::from(self.minute) * 60
            + i64::from(self.second)
            - i64::from(offset) * 60;
        match u64::try_from(secs) {
            Ok(secs) => UNIX_EPOCH.checked_add(Duration::new(secs, self.nanos)),
            Err(_) => {
                let before = Duration::from_secs(secs.unsigned_abs());
                UNIX_EPOCH
                    .checked_sub(before)?
                    .checked_add(Duration::from_nanos(u64::from(self.nanos)))
            }
        }
    }
}

impl Hl7Time {
    /// `t` in UTC to the second (offset `+0000`), for timestamps the gateway
    /// sends; a time before 1970 reads as 1970-01-01.
    pub fn utc(t: SystemTime) -> Self {
        let secs = t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        let days = i64::try_from(secs / 86_400).unwrap_or(0);
        let (year, month, day) = civil_from_days(days);
        let of_day = secs % 86_400;
        Self {
            year: u16::try_from(year).unwrap_or(u16::MAX),
            month,
            day,
            hour: small(u32::try_from(of_day / 3600).unwrap_or(0)),
            minute: small(u32::try_from(of_day % 3600 / 60).unwrap_or(0)),
            second: small(u32::try_from(of_day % 60).unwrap_or(0)),
            nanos: 0,
            offset_minutes: Some(0),
        }
    }
}

impl std::fmt::Display for Hl7Time {
    /// `YYYYMMDDHHMMSS`, then `.fraction` when there is one and `+HHMM` or
    /// `-HHMM` when the offset is known.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{:04}{:02}{:02}{:02}{:02}{:02}",
            self.year, self.month, self.day, self.hour, self.minute, self.second
        )?;
        if self.nanos > 0 {
            let fraction = format!("{:09}", self.nanos);
            write!(f, ".{}", fraction.trim_end_matches('0'))?;
        }
        if let Some(offset) = self.offset_minutes {
            let sign = if offset < 0 { '-' } else { '+' };
            let abs = offset.unsigned_abs();
            write!(f, "{sign}{:02}{:02}", abs / 60, abs % 60)?;
        }
        Ok(())
    }
}

fn all_digits(s: &str) -> bool {
    s.bytes().all(|b| b.is_ascii_digit())
}

fn small(v: u32) -> u8 {
    u8::try_from(v).unwrap_or(u8::MAX)
}

/// Splits `+HHMM` / `-HHMM` off the end.
fn split_offset(text: &str) -> Result<(&str, Option<i32>), &'static str> {
    let Some(at) = text.find(['+', '-']) else {
        return Ok((text, None));
    };
    let (main, zone) = text.split_at(at);
    let sign = if zone.starts_with('-') { -1 } else { 1 };
    let hhmm = zone.get(1..).unwrap_or_default();
    if hhmm.len() != 4 || !all_digits(hhmm) {
        return Err("bad time zone offset");
    }
    let hours: i32 = hhmm.get(..2).and_then(|h| h.parse().ok()).unwrap_or(99);
    let minutes: i32 = hhmm.get(2..).and_then(|m| m.parse().ok()).unwrap_or(99);
    if hours > 23 || minutes > 59 {
        return Err("bad time zone offset");
    }
    Ok((main, Some(sign * (hours * 60 + minutes))))
}

fn days_in_month(year: u16, month: u8) -> u8 {
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    match month {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(year: i64, month: u8, day: u8) -> i64 {
    let (month, day) = (i64::from(month), i64::from(day));
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date of a day count since 1970-01-01 (the inverse of the above).
fn civil_from_days(days: i64) -> (i64, u8, u8) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let narrow = |v: i64| u8::try_from(v).unwrap_or(1);
    (year, narrow(month), narrow(day))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_formats_and_parses_back() {
        for secs in [0_u64, 951_825_600, 1_714_552_200, 4_102_444_799] {
            let t = UNIX_EPOCH + Duration::from_secs(secs);
            let text = Hl7Time::utc(t).to_string();
            assert_eq!(text.len(), 19, "{text}");
            let back = Hl7Time::parse(&text).unwrap().to_system_time(None);
            assert_eq!(back, Some(t), "{text}");
        }
        let t = UNIX_EPOCH + Duration::from_secs(1_714_552_200);
        assert_eq!(Hl7Time::utc(t).to_string(), "20240501083000+0000");
        let local = Hl7Time::parse("20240501103000.25-0130").unwrap();
        assert_eq!(local.to_string(), "20240501103000.25-0130");
    }

    fn unix(t: SystemTime) -> i64 {
        match t.duration_since(UNIX_EPOCH) {
            Ok(d) => i64::try_from(d.as_secs()).unwrap(),
            Err(e) => -i64::try_from(e.duration().as_secs()).unwrap(),
        }
    }

    #[test]
    fn offset_timestamp_converts_to_utc() {
        // 2024-05-01 10:30:00 +02:00 is 08:30:00 UTC (Python calendar.timegm).
        let t = Hl7Time::parse("20240501103000+0200").unwrap();
        assert_eq!(t.offset_minutes, Some(120));
        assert_eq!(unix(t.to_system_time(None).unwrap()), 1_714_552_200);
    }

    #[test]
    fn local_timestamp_needs_an_assumed_offset() {
        let t = Hl7Time::parse("20000229120000").unwrap();
        assert_eq!(t.to_system_time(None), None);
        assert_eq!(unix(t.to_system_time(Some(0)).unwrap()), 951_825_600);
    }

    #[test]
    fn reduced_precision_and_fractions_parse() {
        let t = Hl7Time::parse("202405").unwrap();
        assert_eq!((t.year, t.month, t.day, t.hour), (2024, 5, 1, 0));
        let t = Hl7Time::parse("20240501103000.25+0200").unwrap();
        assert_eq!(t.nanos, 250_000_000);
        let since = t.to_system_time(None).unwrap().duration_since(UNIX_EPOCH);
        assert_eq!(since.unwrap().as_millis(), 1_714_552_200_250);
        let before = Hl7Time::parse("19691231230000-0000").unwrap();
        assert_eq!(unix(before.to_system_time(None).unwrap()), -3600);
    }

    #[test]
    fn malformed_timestamps_are_rejected() {
        for text in [
            "",
            "20241",
            "20240230",
            "20241301",
            "20240501250000",
            "2024-05-01",
            "20240501103000+02",
            "20240501103000+2400",
            "202405011030.5",
            "20240501103000.x",
        ] {
            assert!(Hl7Time::parse(text).is_err(), "{text}");
        }
        assert!(Hl7Time::parse("2024").is_ok());
    }
}
