//! The `[serial]` section of a device profile and a serial device's port.
//!
//! A profile names the protocol and the line settings the device model uses;
//! the device instance in the gateway configuration names only the port:
//!
//! ```toml
//! [serial]
//! protocol = "nonin"        # nonin, masimo, datex, medibus or intellivue
//! baud_rate = 9600
//! data_bits = 8             # default 8
//! parity = "none"           # none, even or odd
//! stop_bits = 1             # default 1
//! flow_control = "none"     # none (default), hardware (RTS/CTS) or software
//! watchdog_ms = 3000        # silence that triggers the protocol's re-init
//! nonin_format = 8          # Nonin only: 2, 7 or 8
//! ```
//!
//! Protocol keys: `nonin_format` (Nonin, required), `poll_interval_ms`
//! (Medibus and IntelliVue: how often measured data or numerics are
//! requested, default 1000), `intellivue_association_hex` (IntelliVue: the
//! association request body as hexadecimal digits, from the Philips Data
//! Export guide; see the session's limitation),
//! `datex_interval_s` (Datex: the monitor's transmission interval, default 5,
//! at least 5) and `datex_dri_level` (Datex: the DRI level byte of the
//! request, default 0, which monitors of every level are reported to accept).
//! A key that belongs to another protocol is an error, so a profile says only
//! what its device uses.

use serde::Deserialize;

use crate::check::Problem;
pub use crate::profile::modbus::Parity;

/// The serial protocols a session driver exists for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SerialProtocol {
    /// Nonin pulse oximeters, serial data formats 2, 7 and 8.
    Nonin,
    /// Masimo Radical-7 / Root / Rad-8 "ASCII 1" lines.
    Masimo,
    /// GE Datex-Ohmeda S/5 Computer Interface (DRI), displayed values.
    Datex,
    /// Dräger Medibus, code page 1 measured data.
    Medibus,
    /// Philips IntelliVue Data Export over MIB/RS-232, numerics.
    Intellivue,
}

impl SerialProtocol {
    /// The adapter label in health and metrics.
    pub fn adapter_kind(self) -> &'static str {
        match self {
            Self::Nonin => "serial_nonin",
            Self::Masimo => "serial_masimo",
            Self::Datex => "serial_datex",
            Self::Medibus => "serial_medibus",
            Self::Intellivue => "serial_intellivue",
        }
    }

    /// Binary protocols need all 8 data bits.
    fn needs_eight_bits(self) -> bool {
        !matches!(self, Self::Masimo)
    }

    /// The longest gap between two messages of a healthy device, in ms: the
    /// watchdog must wait longer than this.
    fn message_period_ms(self, p: &SerialProfile) -> u64 {
        match self {
            // Format 8 sends once a second; 2 and 7 three packets a second.
            Self::Nonin | Self::Masimo => 1_000,
            Self::Datex => {
                u64::from(p.datex_interval_s.unwrap_or(DEFAULT_DATEX_INTERVAL_S)) * 1_000
            }
            Self::Medibus | Self::Intellivue => {
                p.poll_interval_ms.unwrap_or(DEFAULT_MEDIBUS_POLL_MS)
            }
        }
    }

    /// Bytes per second a healthy device sends, for the line speed check.
    fn bytes_per_second(self, p: &SerialProfile) -> u64 {
        match (self, p.nonin_format) {
            // 75 frames of 5 bytes a second.
            (Self::Nonin, Some(2 | 7)) => 375,
            (Self::Nonin, _) => 4,
            // A line of at most 512 bytes a second.
            (Self::Masimo, _) => 512,
            // Up to five 278-byte subrecords and a header per interval.
            (Self::Datex, _) => 300,
            (Self::Medibus, _) => 200,
            // A numerics poll result of some 30 objects a second.
            (Self::Intellivue, _) => 1_500,
        }
    }
}

/// Flow control on the line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FlowControl {
    /// None (three-wire cables).
    #[default]
    None,
    /// RTS/CTS.
    Hardware,
    /// XON/XOFF. Unusable for binary protocols, whose data contain those bytes.
    Software,
}

/// Default Datex transmission interval in seconds.
pub const DEFAULT_DATEX_INTERVAL_S: u16 = 5;
/// Default Medibus measured-data poll interval in ms.
pub const DEFAULT_MEDIBUS_POLL_MS: u64 = 1_000;

/// How a serial device talks.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SerialProfile {
    /// The protocol.
    pub protocol: SerialProtocol,
    /// Line speed in baud.
    pub baud_rate: u32,
    /// Data bits, 5 to 8; default 8.
    #[serde(default = "default_data_bits")]
    pub data_bits: u8,
    /// Parity.
    pub parity: Parity,
    /// 1 (default) or 2.
    #[serde(default = "default_stop_bits")]
    pub stop_bits: u8,
    /// Flow control; default none.
    #[serde(default)]
    pub flow_control: FlowControl,
    /// Silence after which the protocol is initialised again (the request or
    /// handshake re-sent), in ms. Must exceed the device's message period.
    pub watchdog_ms: u64,
    /// First delay before reopening a port that vanished or failed, in ms;
    /// default 500.
    #[serde(default = "default_reopen_initial_ms")]
    pub reopen_initial_ms: u64,
    /// Longest delay between reopen attempts, in ms; default 30000.
    #[serde(default = "default_reopen_max_ms")]
    pub reopen_max_ms: u64,
    /// Nonin: the data format, 2, 7 or 8; selected on every (re)start.
    pub nonin_format: Option<u8>,
    /// Medibus: measured-data request period in ms; default 1000.
    pub poll_interval_ms: Option<u64>,
    /// Datex: transmission interval in seconds; default 5, at least 5.
    pub datex_interval_s: Option<u16>,
    /// Datex: the DRI level byte of the request; default 0.
    pub datex_dri_level: Option<u8>,
    /// IntelliVue: the association request body, hexadecimal; default the
    /// session's own (see `serial::intellivue`).
    pub intellivue_association_hex: Option<String>,
}

impl SerialProfile {
    /// The IntelliVue association body, when the profile gives a valid one.
    pub fn intellivue_association(&self) -> Option<Vec<u8>> {
        let hex = self.intellivue_association_hex.as_deref()?;
        let digits: Vec<u8> = hex.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
        if digits.len() % 2 != 0 {
            return None;
        }
        digits
            .chunks(2)
            .map(|pair| {
                let text = std::str::from_utf8(pair).ok()?;
                u8::from_str_radix(text, 16).ok()
            })
            .collect()
    }
}

/// Where a serial device is plugged in: `[device.serial]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SerialConnection {
    /// The serial device, such as `/dev/ttyUSB0` or a stable
    /// `/dev/serial/by-id/...` link (which survives replugging).
    pub path: String,
}

impl SerialConnection {
    pub(crate) fn validate(&self, path: &str, problems: &mut Vec<Problem>) {
        if self.path.is_empty() {
            problems.push(Problem::new(format!("{path}.path"), "must not be empty"));
        }
    }
}

impl SerialProfile {
    pub(crate) fn validate(&self, problems: &mut Vec<Problem>) {
        let mut bad =
            |key: &str, msg: String| problems.push(Problem::new(format!("serial.{key}"), msg));
        let proto = self.protocol;
        if !(300..=921_600).contains(&self.baud_rate) {
            bad("baud_rate", "must be between 300 and 921600".into());
        } else {
            // 10 bits a byte with start and stop bits; a line that cannot carry
            // the device's own stream can never work.
            let need = proto.bytes_per_second(self) * 10;
            if u64::from(self.baud_rate) < need {
                bad(
                    "baud_rate",
                    format!("{proto:?} sends about {need} bits per second; the line is too slow"),
                );
            }
        }
        if !(5..=8).contains(&self.data_bits) {
            bad("data_bits", "must be between 5 and 8".into());
        } else if proto.needs_eight_bits() && self.data_bits != 8 {
            bad(
                "data_bits",
                format!("must be 8: {proto:?} is a binary protocol"),
            );
        } else if self.data_bits < 7 {
            bad("data_bits", "must be 7 or 8 for ASCII lines".into());
        }
        if !(1..=2).contains(&self.stop_bits) {
            bad("stop_bits", "must be 1 or 2".into());
        }
        if self.flow_control == FlowControl::Software && proto.needs_eight_bits() {
            bad(
                "flow_control",
                format!("software flow control would eat XON/XOFF bytes of {proto:?} data"),
            );
        }
        let period = proto.message_period_ms(self);
        if self.watchdog_ms <= period {
            bad(
                "watchdog_ms",
                format!("must exceed the device's message period of {period} ms"),
            );
        }
        if self.reopen_initial_ms == 0 || self.reopen_initial_ms > self.reopen_max_ms {
            bad(
                "reopen_initial_ms",
                "must be at least 1 and at most reopen_max_ms".into(),
            );
        }
        self.validate_protocol_keys(&mut bad);
    }

    fn validate_protocol_keys(&self, bad: &mut impl FnMut(&str, String)) {
        let proto = self.protocol;
        let foreign =
            |key: &str, set: bool, owner: SerialProtocol, bad: &mut dyn FnMut(&str, String)| {
                if set && proto != owner {
                    bad(
                        key,
                        format!("is a {owner:?} setting; this profile is {proto:?}"),
                    );
                }
            };
        foreign(
            "nonin_format",
            self.nonin_format.is_some(),
            SerialProtocol::Nonin,
            bad,
        );
        if self.poll_interval_ms.is_some()
            && !matches!(proto, SerialProtocol::Medibus | SerialProtocol::Intellivue)
        {
            let msg = format!("is a Medibus and IntelliVue setting; this profile is {proto:?}");
            bad("poll_interval_ms", msg);
        }
        foreign(
            "intellivue_association_hex",
            self.intellivue_association_hex.is_some(),
            SerialProtocol::Intellivue,
            bad,
        );
        foreign(
            "datex_interval_s",
            self.datex_interval_s.is_some(),
            SerialProtocol::Datex,
            bad,
        );
        foreign(
            "datex_dri_level",
            self.datex_dri_level.is_some(),
            SerialProtocol::Datex,
            bad,
        );
        match proto {
            SerialProtocol::Nonin => match self.nonin_format {
                None => bad("nonin_format", "missing key: 2, 7 or 8".into()),
                Some(2 | 7 | 8) => {}
                Some(_) => bad("nonin_format", "must be 2, 7 or 8".into()),
            },
            SerialProtocol::Medibus => {
                if self.poll_interval_ms == Some(0) {
                    bad("poll_interval_ms", "must be at least 1".into());
                }
            }
            SerialProtocol::Intellivue => {
                if self.poll_interval_ms.is_some_and(|ms| ms < 100) {
                    bad(
                        "poll_interval_ms",
                        "must be at least 100: faster polls overload the monitor".into(),
                    );
                }
                let hex = self.intellivue_association_hex.as_ref();
                if hex.is_some() && self.intellivue_association().is_none_or(|b| b.is_empty()) {
                    bad(
                        "intellivue_association_hex",
                        "must be pairs of hexadecimal digits".into(),
                    );
                }
            }
            SerialProtocol::Datex => {
                if self
                    .datex_interval_s
                    .is_some_and(|s| s < DEFAULT_DATEX_INTERVAL_S)
                {
                    bad(
                        "datex_interval_s",
                        "must be at least 5: monitors refuse faster".into(),
                    );
                }
                if self.datex_dri_level.is_some_and(|l| l > 0x0C) {
                    bad("datex_dri_level", "must be between 0 and 12 (0x0C)".into());
                }
            }
            SerialProtocol::Masimo => {}
        }
    }
}

const fn default_data_bits() -> u8 {
    8
}

const fn default_stop_bits() -> u8 {
    1
}

const fn default_reopen_initial_ms() -> u64 {
    500
}

const fn default_reopen_max_ms() -> u64 {
    30_000
}

#[cfg(test)]
mod tests {
    use crate::profile::Profile;

    fn problems(serial: &str) -> Vec<String> {
        let text = format!("name = \"p\"\nsilence_timeout_ms = 10000\n[serial]\n{serial}");
        match Profile::parse(&text) {
            Ok(_) => Vec::new(),
            Err(ps) => ps.iter().map(ToString::to_string).collect(),
        }
    }

    #[test]
    fn a_good_profile_parses_with_defaults() {
        let text = "name = \"p\"\nsilence_timeout_ms = 1\n[serial]\nprotocol = \"datex\"\n\
            baud_rate = 19200\nparity = \"even\"\nwatchdog_ms = 15000\n";
        let p = Profile::parse(text).unwrap();
        let s = p.serial.clone().unwrap();
        assert_eq!((s.data_bits, s.stop_bits, s.reopen_initial_ms), (8, 1, 500));
        assert_eq!(p.protocol(), crate::profile::Protocol::Serial);
    }

    #[test]
    fn unknown_keys_and_impossible_settings_are_named() {
        let found = problems(
            "protocol = \"nonin\"\nbaud_rate = 1200\nparity = \"none\"\ndata_bits = 7\n\
             stop_bits = 3\nflow_control = \"software\"\nwatchdog_ms = 900\nnonin_format = 2\n\
             poll_interval_ms = 5\n",
        );
        let paths: Vec<&str> = found.iter().map(|p| p.split(':').next().unwrap()).collect();
        assert_eq!(
            paths,
            [
                "serial.baud_rate",
                "serial.data_bits",
                "serial.stop_bits",
                "serial.flow_control",
                "serial.watchdog_ms",
                "serial.poll_interval_ms",
            ],
            "{found:#?}"
        );
        assert!(found[0].contains("too slow"), "{found:?}");
        let unknown = problems("protocol = \"masimo\"\nbaud_rate = 9600\nparity = \"none\"\nwatchdog_ms = 3000\nbaudrate = 1\n");
        assert!(
            unknown[0].starts_with("serial.baudrate: unknown key"),
            "{unknown:?}"
        );
    }

    #[test]
    fn protocol_keys_are_required_and_checked() {
        let base = "baud_rate = 9600\nparity = \"none\"\nwatchdog_ms = 3000\n";
        let nonin = problems(&format!("protocol = \"nonin\"\n{base}"));
        assert_eq!(nonin, ["serial.nonin_format: missing key: 2, 7 or 8"]);
        let bad = problems(&format!("protocol = \"nonin\"\nnonin_format = 13\n{base}"));
        assert_eq!(bad, ["serial.nonin_format: must be 2, 7 or 8"]);
        let datex = problems(&format!(
            "protocol = \"datex\"\ndatex_interval_s = 30\n{}",
            base.replace("9600", "19200")
        ));
        assert_eq!(
            datex,
            ["serial.watchdog_ms: must exceed the device's message period of 30000 ms"]
        );
        let two = "name = \"p\"\nsilence_timeout_ms = 1\n[serial]\nprotocol = \"masimo\"\n\
            baud_rate = 9600\nparity = \"none\"\nwatchdog_ms = 3000\n[mqtt]\ntopic = \"t\"\nformat = \"compact\"\n";
        let iv = "protocol = \"intellivue\"\nbaud_rate = 115200\nparity = \"none\"\nwatchdog_ms = 8000\n";
        let odd = problems(&format!(
            "{iv}intellivue_association_hex = \"0D0\"\npoll_interval_ms = 50\n"
        ));
        assert_eq!(
            odd,
            [
                "serial.poll_interval_ms: must be at least 100: faster polls overload the monitor",
                "serial.intellivue_association_hex: must be pairs of hexadecimal digits",
            ]
        );
        assert!(problems(&format!("{iv}intellivue_association_hex = \"0d 0E\"\n")).is_empty());
        let err = Profile::parse(two).unwrap_err();
        assert!(err[0].message.contains("more than one"), "{err:?}");
    }
}
