//! `[hl7]`: the HL7 v2 over MLLP listener, the devices it accepts and the
//! PV1-3 locations it knows.
//!
//! ```toml
//! [hl7]
//! listen = "0.0.0.0:2575"
//! unknown_senders = "reject"      # or "accept"
//!
//! [[hl7.device]]                  # a monitor, by its EUI-64 (OBX-18 or MSH-3)
//! device_id = "b40-bed-3"
//! eui64 = "0012AB00FFFE0001"
//! bed_id = "bed-3"                # optional when PV1-3 names the bed
//!
//! [[hl7.bed]]                     # PV1-3 point of care ^ room ^ bed
//! location = "ICU^301^3"
//! bed_id = "bed-3"
//! ```
//!
//! How a reading finds its device and bed, and what an unknown sender gets, is
//! described in [`firmware_adapters::mllp::routing`].

use std::collections::HashSet;
use std::net::SocketAddr;
use std::time::Duration;

use firmware_adapters::mllp::health::LISTENER_ID;
use firmware_adapters::mllp::{KnownBed, KnownDevice, ListenerConfig, Routing, UnknownSenders};
use serde::Deserialize;

use super::load::Problem;
use super::GatewayConfig;

/// Largest message size a site may configure.
const MAX_MESSAGE_BYTES: usize = 16 << 20;
/// Smallest: one PCD-01 message with a few observations.
const MIN_MESSAGE_BYTES: usize = 1024;

/// `[hl7]`
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Hl7Section {
    /// Address of the MLLP listener. Default 127.0.0.1:2575 (the registered
    /// HL7 port); use 0.0.0.0:2575 to take messages from the ward network.
    /// Limitation: plain TCP, no TLS and no sender authentication: only
    /// senders on a trusted network segment should reach it.
    #[serde(default = "defaults::listen")]
    pub listen: String,
    /// Largest message accepted; a longer one is dropped and answered with AR.
    /// Default 1 MiB.
    #[serde(default = "defaults::max_message_bytes")]
    pub max_message_bytes: usize,
    /// A connection silent this long is closed. Default 300 s.
    #[serde(default = "defaults::idle_timeout_secs")]
    pub idle_timeout_secs: u64,
    /// Most simultaneous connections; more are closed at once. Default 64.
    #[serde(default = "defaults::max_connections")]
    pub max_connections: usize,
    /// Minutes east of UTC assumed for timestamps without an offset. Unset:
    /// such readings are stored at their receive time.
    pub assumed_utc_offset_minutes: Option<i32>,
    /// `reject` (default): readings from an EUI-64 not listed are refused with
    /// AE. `accept`: stored as device `hl7-<EUI-64>` in the bed PV1-3 maps to.
    #[serde(default)]
    pub unknown_senders: UnknownSenders,
    /// The devices, by EUI-64.
    #[serde(default)]
    pub device: Vec<Hl7DeviceSection>,
    /// PV1-3 locations and their beds.
    #[serde(default)]
    pub bed: Vec<Hl7BedSection>,
}

/// `[[hl7.device]]`
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Hl7DeviceSection {
    /// Unique among all devices and simulators of this file.
    pub device_id: String,
    /// The EUI-64 the device sends in OBX-18 or MSH-3: 16 hexadecimal digits.
    pub eui64: String,
    /// The bed it is attached to. Without it PV1-3 must name a configured
    /// bed; with it, a PV1-3 that names another configured bed is refused.
    pub bed_id: Option<String>,
}

/// `[[hl7.bed]]`
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Hl7BedSection {
    /// PV1-3 as `point of care^room^bed`, compared component by component
    /// after unescaping; absent parts are empty (`ICU^^3`).
    pub location: String,
    /// The bed.
    pub bed_id: String,
}

impl Hl7Section {
    /// The parsed listen address; validation guarantees it parses.
    pub fn listen_addr(&self) -> SocketAddr {
        self.listen
            .parse()
            .expect("validated when the configuration was loaded")
    }

    /// The listener's settings.
    pub fn listener_config(&self) -> ListenerConfig {
        ListenerConfig {
            max_message_bytes: self.max_message_bytes,
            idle_timeout: Duration::from_secs(self.idle_timeout_secs),
            max_connections: self.max_connections,
            assumed_utc_offset_minutes: self.assumed_utc_offset_minutes,
        }
    }

    /// The routing table; validation guarantees every entry parses.
    pub fn routing(&self) -> Routing {
        let devices: Vec<KnownDevice> = self
            .device
            .iter()
            .filter_map(|d| {
                Some(KnownDevice {
                    device_id: d.device_id.clone(),
                    eui64: parse_eui64(&d.eui64)?,
                    bed_id: d.bed_id.clone(),
                })
            })
            .collect();
        let beds: Vec<KnownBed> = self
            .bed
            .iter()
            .filter_map(|b| {
                Some(KnownBed {
                    location: KnownBed::parse_location(&b.location).ok()?,
                    bed_id: b.bed_id.clone(),
                })
            })
            .collect();
        Routing::new(&devices, &beds, self.unknown_senders)
    }
}

fn parse_eui64(text: &str) -> Option<u64> {
    let hex = text.len() == 16 && text.bytes().all(|b| b.is_ascii_hexdigit());
    hex.then(|| u64::from_str_radix(text, 16).ok()).flatten()
}

/// Appends a [`Problem`] for everything wrong with `[hl7]`. `identifier`
/// checks an id the way the rest of the file does.
pub(super) fn check(
    c: &GatewayConfig,
    problems: &mut Vec<Problem>,
    identifier: &dyn Fn(&str, &str, &mut Vec<Problem>),
) {
    let Some(h) = &c.hl7 else { return };
    let mut bad = |path: String, msg: &str| problems.push(Problem::new(path, msg));
    if h.listen.parse::<SocketAddr>().is_err() {
        bad("hl7.listen".into(), "not an address and port");
    }
    if !(MIN_MESSAGE_BYTES..=MAX_MESSAGE_BYTES).contains(&h.max_message_bytes) {
        let msg = format!("must be between {MIN_MESSAGE_BYTES} and {MAX_MESSAGE_BYTES}");
        bad("hl7.max_message_bytes".into(), &msg);
    }
    if h.idle_timeout_secs == 0 {
        bad("hl7.idle_timeout_secs".into(), "must be at least 1");
    }
    if h.max_connections == 0 {
        bad("hl7.max_connections".into(), "must be at least 1");
    }
    if h.assumed_utc_offset_minutes
        .is_some_and(|m| !(-720..=840).contains(&m))
    {
        bad(
            "hl7.assumed_utc_offset_minutes".into(),
            "must be between -720 and 840",
        );
    }
    let mut ids: HashSet<&str> = c.simulator.iter().map(|s| s.device_id.as_str()).collect();
    ids.extend(c.device.iter().map(|d| d.device_id.as_str()));
    let mut euis = HashSet::new();
    for (i, d) in h.device.iter().enumerate() {
        let path = format!("hl7.device[{i}]");
        identifier(&d.device_id, &format!("{path}.device_id"), problems);
        if d.device_id == LISTENER_ID || !ids.insert(d.device_id.as_str()) {
            let msg = format!("`{}` is already used by another device", d.device_id);
            problems.push(Problem::new(format!("{path}.device_id"), msg));
        }
        match parse_eui64(&d.eui64) {
            None => problems.push(Problem::new(
                format!("{path}.eui64"),
                "must be 16 hexadecimal digits",
            )),
            Some(eui) if !euis.insert(eui) => problems.push(Problem::new(
                format!("{path}.eui64"),
                "is used by an earlier [[hl7.device]]",
            )),
            Some(_) => {}
        }
        if let Some(bed) = &d.bed_id {
            identifier(bed, &format!("{path}.bed_id"), problems);
        }
    }
    let mut locations = HashSet::new();
    for (i, b) in h.bed.iter().enumerate() {
        let path = format!("hl7.bed[{i}]");
        identifier(&b.bed_id, &format!("{path}.bed_id"), problems);
        match KnownBed::parse_location(&b.location) {
            Err(msg) => problems.push(Problem::new(format!("{path}.location"), msg)),
            Ok(loc) if !locations.insert(loc.clone()) => problems.push(Problem::new(
                format!("{path}.location"),
                "is used by an earlier [[hl7.bed]]",
            )),
            Ok(_) => {}
        }
    }
}

/// Defaults, in one place.
mod defaults {
    pub(super) fn listen() -> String {
        "127.0.0.1:2575".to_owned()
    }
    pub(super) const fn max_message_bytes() -> usize {
        1 << 20
    }
    pub(super) const fn idle_timeout_secs() -> u64 {
        300
    }
    pub(super) const fn max_connections() -> usize {
        64
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use firmware_adapters::mllp::UnknownSenders;

    use crate::config::load_str;

    const BASE: &str = "[site]\ntenant_id = \"t\"\nward_id = \"w\"\n\n\
                        [spool]\ndir = \"spool\"\n\n\
                        [[simulator]]\ndevice_id = \"sim-1\"\nbed_id = \"bed-1\"\n";

    fn load(hl7: &str) -> Result<crate::config::GatewayConfig, Vec<(String, String)>> {
        let text = format!("{BASE}\n{hl7}");
        load_str(&text, Path::new("gw.toml"), |_| None).map_err(|e| {
            e.problems
                .into_iter()
                .map(|p| (p.path, p.message))
                .collect()
        })
    }

    #[test]
    fn a_listener_with_devices_and_beds_loads_with_defaults() {
        let c = load(
            "[hl7]\nunknown_senders = \"accept\"\n\
             [[hl7.device]]\ndevice_id = \"b40-3\"\neui64 = \"0012ab00fffe0001\"\n\
             [[hl7.bed]]\nlocation = \"ICU^301^3\"\nbed_id = \"bed-3\"\n",
        )
        .unwrap();
        let h = c.hl7.unwrap();
        assert_eq!(h.listen, "127.0.0.1:2575");
        assert_eq!((h.max_message_bytes, h.idle_timeout_secs), (1 << 20, 300));
        assert_eq!(h.unknown_senders, UnknownSenders::Accept);
        let msg = b"MSH|^~\\&|B40^0012AB00FFFE0001^EUI-64||||||ORU^R01|1|P|2.6\r\
                    PV1||I|ICU^301^3\r\
                    OBX|1|NM|147842^MDC_ECG_HEART_RATE^MDC||60|264864^^MDC\r";
        let routed = h.routing().route(msg, None).unwrap();
        assert_eq!(&*routed.batches[0].device.device_id, "b40-3");
        assert_eq!(&*routed.batches[0].device.bed_id, "bed-3");
    }

    #[test]
    fn every_hl7_problem_is_listed_with_its_key() {
        let found = load(
            "[hl7]\nlisten = \"nowhere\"\nmax_message_bytes = 10\nidle_timeout_secs = 0\n\
             max_connections = 0\nassumed_utc_offset_minutes = 900\nunknown_senders = \"maybe\"\n",
        )
        .unwrap_err();
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].0, "hl7.unknown_senders");

        let found = load(
            "[hl7]\nlisten = \"nowhere\"\nmax_message_bytes = 10\nidle_timeout_secs = 0\n\
             max_connections = 0\nassumed_utc_offset_minutes = 900\n\
             [[hl7.device]]\ndevice_id = \"sim-1\"\neui64 = \"12\"\nbed_id = \"bed 3\"\n\
             [[hl7.device]]\ndevice_id = \"hl7-listener\"\neui64 = \"0012AB00FFFE0001\"\n\
             [[hl7.device]]\ndevice_id = \"m3\"\neui64 = \"0012AB00FFFE0001\"\nport = 1\n",
        )
        .unwrap_err();
        assert_eq!(found.len(), 1, "unknown key alone first: {found:?}");
        assert_eq!(found[0].0, "hl7.device[2].port");

        let found = load(
            "[hl7]\nlisten = \"nowhere\"\nmax_message_bytes = 10\nidle_timeout_secs = 0\n\
             max_connections = 0\nassumed_utc_offset_minutes = 900\n\
             [[hl7.device]]\ndevice_id = \"sim-1\"\neui64 = \"12\"\nbed_id = \"bed 3\"\n\
             [[hl7.device]]\ndevice_id = \"hl7-listener\"\neui64 = \"0012AB00FFFE0001\"\n\
             [[hl7.device]]\ndevice_id = \"m3\"\neui64 = \"0012AB00FFFE0001\"\n\
             [[hl7.bed]]\nlocation = \"a^b^c^d\"\nbed_id = \"b\"\n\
             [[hl7.bed]]\nlocation = \"ICU\"\nbed_id = \"b\"\n\
             [[hl7.bed]]\nlocation = \"ICU^^\"\nbed_id = \"b\"\n",
        )
        .unwrap_err();
        let paths: Vec<&str> = found.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(
            paths,
            [
                "hl7.listen",
                "hl7.max_message_bytes",
                "hl7.idle_timeout_secs",
                "hl7.max_connections",
                "hl7.assumed_utc_offset_minutes",
                "hl7.device[0].device_id",
                "hl7.device[0].eui64",
                "hl7.device[0].bed_id",
                "hl7.device[1].device_id",
                "hl7.device[2].eui64",
                "hl7.bed[0].location",
                "hl7.bed[2].location",
            ],
            "{found:?}"
        );
    }
}
