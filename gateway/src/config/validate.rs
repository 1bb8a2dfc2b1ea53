//! Semantic checks that the types alone cannot express.

use std::collections::HashSet;
use std::net::SocketAddr;

use collector::sample::MAX_ID_BYTES;

use super::load::Problem;
use super::{BrokerMode, GatewayConfig};
use firmware_adapters::profile::Protocol;
use firmware_adapters::{modbus, serial};

/// Smallest useful segment: a few thousand samples.
const MIN_SEGMENT_BYTES: u64 = 64 * 1024;
/// The spool must hold at least this many segments, so shedding one frees a
/// small part of it, not half.
const MIN_SEGMENTS: u64 = 4;
/// Upper bound of one database batch; larger batches only add latency.
const MAX_BATCH_ROWS: usize = 100_000;

/// Appends a [`Problem`] for everything wrong with `c`.
pub(super) fn check(c: &GatewayConfig, problems: &mut Vec<Problem>) {
    let mut bad = |path: &str, msg: String| problems.push(Problem::new(path, msg));

    identifier(&c.site.tenant_id, "site.tenant_id", &mut bad);
    identifier(&c.site.ward_id, "site.ward_id", &mut bad);

    let s = &c.spool;
    if s.dir.as_os_str().is_empty() {
        bad("spool.dir", "must not be empty".into());
    }
    if s.segment_bytes < MIN_SEGMENT_BYTES {
        bad(
            "spool.segment_bytes",
            format!("must be at least {MIN_SEGMENT_BYTES}"),
        );
    }
    if s.max_bytes < s.segment_bytes.saturating_mul(MIN_SEGMENTS) {
        let msg = format!("must be at least {MIN_SEGMENTS} times spool.segment_bytes");
        bad("spool.max_bytes", msg);
    }

    if let Some(db) = &c.database {
        if db.url.expose().is_empty() {
            let msg = format!("is empty; set it here or in {}", super::DATABASE_URL_ENV);
            bad("database.url", msg);
        } else if let Err(e) = db.url.expose().parse::<tokio_postgres::Config>() {
            // The parser's message does not echo the URL, so no password leaks.
            bad(
                "database.url",
                format!("not a valid connection string: {e}"),
            );
        }
        if db.batch_max_rows == 0 || db.batch_max_rows > MAX_BATCH_ROWS {
            bad(
                "database.batch_max_rows",
                format!("must be between 1 and {MAX_BATCH_ROWS}"),
            );
        }
        for (key, v) in [
            ("database.batch_max_wait_ms", db.batch_max_wait_ms),
            ("database.retry_initial_ms", db.retry_initial_ms),
            ("database.connect_timeout_ms", db.connect_timeout_ms),
        ] {
            if v == 0 {
                bad(key, "must be at least 1".into());
            }
        }
        if db.retention_days == Some(0) {
            bad(
                "database.retention_days",
                "must be at least 1 (leave it out to keep everything)".into(),
            );
        }
        if db.retry_max_ms < db.retry_initial_ms {
            bad(
                "database.retry_max_ms",
                "must be at least database.retry_initial_ms".into(),
            );
        }
    }

    if let Err(e) = c.api.listen.parse::<SocketAddr>() {
        bad("api.listen", format!("not an address and port: {e}"));
    }
    for (key, message) in c.api.auth.problems() {
        bad(&format!("api.auth.{key}"), message.to_owned());
    }

    check_mqtt(c, problems);
    super::hl7::check(c, problems, &|value, path, problems| {
        identifier(value, path, &mut |p: &str, m: String| {
            problems.push(Problem::new(p, m));
        });
    });
    let mut bad = |path: &str, msg: String| problems.push(Problem::new(path, msg));
    let mut devices = HashSet::new();
    for (i, sim) in c.simulator.iter().enumerate() {
        identifier(
            &sim.device_id,
            &format!("simulator[{i}].device_id"),
            &mut bad,
        );
        identifier(&sim.bed_id, &format!("simulator[{i}].bed_id"), &mut bad);
        if !devices.insert(sim.device_id.as_str()) {
            let msg = format!("`{}` is used by an earlier simulator", sim.device_id);
            bad(&format!("simulator[{i}].device_id"), msg);
        }
        if sim.interval_ms == 0 {
            bad(
                &format!("simulator[{i}].interval_ms"),
                "must be at least 1".into(),
            );
        }
    }
}

fn check_mqtt(c: &GatewayConfig, problems: &mut Vec<Problem>) {
    let mut bad = |path: &str, msg: &str| problems.push(Problem::new(path, msg));
    if let Some(m) = &c.mqtt {
        match m.broker {
            BrokerMode::Embedded => {
                if m.listen.parse::<SocketAddr>().is_err() {
                    bad("mqtt.listen", "not an address and port");
                }
                if m.max_connections == 0 {
                    bad("mqtt.max_connections", "must be at least 1");
                }
                match (&m.tls_cert_path, &m.tls_key_path) {
                    (Some(_), None) => bad("mqtt.tls_key_path", "required with mqtt.tls_cert_path"),
                    (None, Some(_)) => bad("mqtt.tls_cert_path", "required with mqtt.tls_key_path"),
                    (Some(cert), Some(key)) => {
                        for (k, path) in [("mqtt.tls_cert_path", cert), ("mqtt.tls_key_path", key)]
                        {
                            if std::fs::metadata(path).is_err() {
                                problems.push(Problem::new(
                                    k,
                                    format!("cannot read {}", path.display()),
                                ));
                            }
                        }
                    }
                    (None, None) => {}
                }
            }
            BrokerMode::External => {
                if m.host.as_deref().is_none_or(str::is_empty) {
                    bad("mqtt.host", "required for an external broker");
                }
                if m.tls_cert_path.is_some() || m.tls_key_path.is_some() {
                    bad("mqtt", "TLS files configure the embedded broker only");
                }
            }
        }
        if m.client_id.is_empty() {
            problems.push(Problem::new("mqtt.client_id", "must not be empty"));
        }
        if m.keep_alive_secs < 5 {
            problems.push(Problem::new("mqtt.keep_alive_secs", "must be at least 5"));
        }
    }
    let mqtt_devices = c
        .device
        .iter()
        .filter(|d| {
            c.profile_set
                .get(&d.profile)
                .is_some_and(|p| p.protocol() == Protocol::Mqtt)
        })
        .count();
    if let Some(m) = c.mqtt.as_ref().filter(|m| m.broker == BrokerMode::Embedded) {
        if m.max_connections < 2 * mqtt_devices + 1 {
            let msg = format!(
                "must be at least {} for {mqtt_devices} MQTT devices",
                2 * mqtt_devices + 1
            );
            problems.push(Problem::new("mqtt.max_connections", msg));
        }
    }
    let mut ids: HashSet<&str> = c.simulator.iter().map(|s| s.device_id.as_str()).collect();
    for (i, d) in c.device.iter().enumerate() {
        let path = format!("device[{i}]");
        if !ids.insert(d.device_id.as_str()) {
            let msg = format!(
                "`{}` is used by an earlier device or simulator",
                d.device_id
            );
            problems.push(Problem::new(format!("{path}.device_id"), msg));
        }
        let profile = c.profile_set.get(&d.profile).map(AsRef::as_ref);
        d.validate(profile, &path, problems);
        let Some(profile) = profile else { continue };
        if profile.protocol() == Protocol::Mqtt {
            match &c.mqtt {
                None => problems.push(Problem::new(
                    format!("{path}.profile"),
                    format!("`{}` is an MQTT device; configure [mqtt]", d.profile),
                )),
                Some(m) if m.broker == BrokerMode::External && d.mqtt.is_some() => {
                    problems.push(Problem::new(
                        format!("{path}.mqtt"),
                        "device credentials are for the embedded broker; an external broker has its own",
                    ));
                }
                Some(m) if m.broker == BrokerMode::Embedded && d.mqtt.is_none() => {
                    problems.push(Problem::new(
                        format!("{path}.mqtt"),
                        "a device on the embedded broker needs a username and password",
                    ));
                }
                Some(_) => {}
            }
        }
    }
    problems.extend(modbus::check_shared_links(&c.device));
    problems.extend(serial::check_ports(&c.device));
}

/// Identifiers end up in the spool (length-prefixed), in database keys, in
/// metrics labels and in URLs, so they stay short and plain.
fn identifier(value: &str, path: &str, bad: &mut impl FnMut(&str, String)) {
    let plain = |ch: char| ch.is_ascii_alphanumeric() || "-_./:".contains(ch);
    if value.is_empty() {
        bad(path, "must not be empty".into());
    } else if value.len() > MAX_ID_BYTES.min(64) {
        bad(path, "must be at most 64 characters".into());
    } else if !value.chars().all(plain) {
        bad(
            path,
            format!("`{value}` may only hold letters, digits and - _ . / :"),
        );
    }
}
