//! `[alerting]`: rules, escalation, webhooks and the MQTT alarm publisher.
//!
//! ```toml
//! [alerting]
//! rules_file = "rules.toml"        # default: the shipped adult rules
//! tick_ms = 1000                   # timer resolution
//! max_silence_ms = 120000          # longest audio pause
//! escalate_from = "medium"         # lowest priority offered to phones
//! admitted_beds = ["bed-1"]        # beds that must send data, besides the
//!                                  # API's current admissions
//!
//! [[alerting.escalation]]          # in order
//! recipient = "nurse-primary"
//! ttl_ms = 60000
//!
//! [[alerting.webhook]]
//! name = "pager"
//! url = "http://127.0.0.1:9000/alarms"   # http only, no TLS
//! secret_env = "HEALTHSPHERE_WEBHOOK_PAGER_SECRET"
//!
//! [alerting.mqtt]                  # publish alarm events
//! host = "127.0.0.1"
//! topic_prefix = "healthsphere"
//! ```

use std::path::{Path, PathBuf};

use alerting::{Priority, RuleSet};
use serde::Deserialize;

use super::load::Problem;
use super::Secret;

/// `[alerting]`
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertingSection {
    /// A rule file (format in `alerting/rules/default.toml`); relative to the
    /// configuration file's folder. Default: the shipped adult rules.
    pub rules_file: Option<PathBuf>,
    /// How often timers are checked. Default 1000 ms.
    #[serde(default = "defaults::tick_ms")]
    pub tick_ms: u64,
    /// The longest audio pause staff may ask for. Default 120000 ms.
    #[serde(default = "defaults::max_silence_ms")]
    pub max_silence_ms: u64,
    /// The lowest priority that is escalated. Default medium.
    #[serde(default = "defaults::escalate_from")]
    pub escalate_from: Priority,
    /// Beds with a patient admitted, for a site that does not record
    /// admissions through the API (whose current admissions alerting learns
    /// at start and as they change): without samples for 2 minutes they
    /// raise the `unmonitored` technical alarm.
    #[serde(default)]
    pub admitted_beds: Vec<String>,
    /// Recipients, in order.
    #[serde(default)]
    pub escalation: Vec<EscalationStepSection>,
    /// Webhook endpoints.
    #[serde(default)]
    pub webhook: Vec<WebhookSection>,
    /// The MQTT alarm publisher.
    pub mqtt: Option<AlarmMqttSection>,
    /// The rules read from `rules_file`; filled by the loader.
    #[serde(skip)]
    pub rules: Option<RuleSet>,
}

impl Default for AlertingSection {
    fn default() -> Self {
        Self {
            rules_file: None,
            tick_ms: defaults::tick_ms(),
            max_silence_ms: defaults::max_silence_ms(),
            escalate_from: defaults::escalate_from(),
            admitted_beds: Vec::new(),
            escalation: Vec::new(),
            webhook: Vec::new(),
            mqtt: None,
            rules: None,
        }
    }
}

/// `[[alerting.escalation]]`
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EscalationStepSection {
    /// Staff member or handset.
    pub recipient: String,
    /// How long the offer stands.
    pub ttl_ms: u64,
}

/// `[[alerting.webhook]]`
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookSection {
    /// Names the endpoint in metrics, the delivery table and its alarm.
    pub name: String,
    /// `http://host:port/path`; TLS is not supported.
    pub url: String,
    /// The environment variable holding the HMAC secret (never in the file).
    pub secret_env: String,
    /// Lowest priority sent. Default medium.
    #[serde(default = "defaults::escalate_from")]
    pub min_priority: Priority,
    /// Per attempt. Default 2000 ms.
    #[serde(default = "defaults::timeout_ms")]
    pub timeout_ms: u64,
    /// Attempts per event. Default 5.
    #[serde(default = "defaults::max_attempts")]
    pub max_attempts: u32,
    /// First retry delay. Default 500 ms.
    #[serde(default = "defaults::retry_initial_ms")]
    pub retry_initial_ms: u64,
    /// Longest retry delay. Default 10000 ms.
    #[serde(default = "defaults::retry_max_ms")]
    pub retry_max_ms: u64,
    /// Read from `secret_env` by the loader.
    #[serde(skip)]
    pub secret: Secret,
}

/// `[alerting.mqtt]`
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlarmMqttSection {
    /// Broker host. Default 127.0.0.1.
    #[serde(default = "defaults::host")]
    pub host: String,
    /// Broker port. Default 1883.
    #[serde(default = "defaults::port")]
    pub port: u16,
    /// Client id. Default `healthsphere-alarms`.
    #[serde(default = "defaults::client_id")]
    pub client_id: String,
    /// First topic level. Default `healthsphere`.
    #[serde(default = "defaults::topic_prefix")]
    pub topic_prefix: String,
}

/// Reads the rule file and the webhook secrets; reports what is wrong.
pub(super) fn resolve(
    section: &mut AlertingSection,
    base: &Path,
    env: &impl Fn(&str) -> Option<String>,
    problems: &mut Vec<Problem>,
) {
    if let Some(file) = &section.rules_file {
        let path = base.join(file);
        section.rules_file = Some(path.clone());
        match std::fs::read_to_string(&path) {
            Err(e) => problems.push(Problem::new(
                "alerting.rules_file",
                format!("cannot read {}: {e}", path.display()),
            )),
            Ok(text) => match RuleSet::from_toml(&text) {
                Ok(rules) => section.rules = Some(rules),
                Err(e) => problems.push(Problem::new(
                    "alerting.rules_file",
                    format!("{}: {e}", path.display()),
                )),
            },
        }
    }
    for (i, w) in section.webhook.iter_mut().enumerate() {
        match env(&w.secret_env).filter(|s| !s.is_empty()) {
            Some(s) => w.secret = Secret::new(s),
            None => problems.push(Problem::new(
                format!("alerting.webhook[{i}].secret_env"),
                format!(
                    "environment variable `{}` is not set or empty",
                    w.secret_env
                ),
            )),
        }
    }
}

/// Checks values the types cannot.
pub(super) fn check(a: &AlertingSection, problems: &mut Vec<Problem>) {
    let mut bad = |path: String, msg: &str| problems.push(Problem::new(path, msg));
    if a.tick_ms < 10 || a.tick_ms > 10_000 {
        bad("alerting.tick_ms".into(), "must be between 10 and 10000");
    }
    if a.max_silence_ms == 0 || a.max_silence_ms > 600_000 {
        bad(
            "alerting.max_silence_ms".into(),
            "must be between 1 and 600000",
        );
    }
    if a.escalation.len() > alerting::lifecycle::EscalationPath::MAX_STEPS {
        bad("alerting.escalation".into(), "at most 20 steps");
    }
    for (i, s) in a.escalation.iter().enumerate() {
        if s.recipient.trim().is_empty() {
            bad(
                format!("alerting.escalation[{i}].recipient"),
                "must not be empty",
            );
        }
        if s.ttl_ms == 0 {
            bad(
                format!("alerting.escalation[{i}].ttl_ms"),
                "must be at least 1",
            );
        }
    }
    for (i, w) in a.webhook.iter().enumerate() {
        let key = |k: &str| format!("alerting.webhook[{i}].{k}");
        let named = |c: char| c.is_ascii_alphanumeric() || "-_".contains(c);
        if w.name.is_empty() || !w.name.chars().all(named) {
            bad(key("name"), "must be letters, digits, - or _");
        }
        if a.webhook[..i].iter().any(|o| o.name == w.name) {
            bad(key("name"), "is used by an earlier webhook");
        }
        if let Err(e) = alerting::webhook::http::HttpUrl::parse(&w.url) {
            bad(key("url"), &e.to_string());
        }
        if w.timeout_ms == 0 || w.max_attempts == 0 || w.retry_initial_ms == 0 {
            bad(
                key("timeout_ms"),
                "timeout_ms, max_attempts and retry_initial_ms must be at least 1",
            );
        }
        if w.retry_max_ms < w.retry_initial_ms {
            bad(key("retry_max_ms"), "must be at least retry_initial_ms");
        }
    }
    if let Some(m) = &a.mqtt {
        if m.topic_prefix.is_empty() || m.topic_prefix.contains(['+', '#']) {
            bad(
                "alerting.mqtt.topic_prefix".into(),
                "must be non-empty without + or #",
            );
        }
    }
}

mod defaults {
    use alerting::Priority;

    pub(super) const fn tick_ms() -> u64 {
        1_000
    }
    pub(super) const fn max_silence_ms() -> u64 {
        120_000
    }
    pub(super) const fn escalate_from() -> Priority {
        Priority::Medium
    }
    pub(super) const fn timeout_ms() -> u64 {
        2_000
    }
    pub(super) const fn max_attempts() -> u32 {
        5
    }
    pub(super) const fn retry_initial_ms() -> u64 {
        500
    }
    pub(super) const fn retry_max_ms() -> u64 {
        10_000
    }
    pub(super) fn host() -> String {
        "127.0.0.1".to_owned()
    }
    pub(super) const fn port() -> u16 {
        1883
    }
    pub(super) fn client_id() -> String {
        "healthsphere-alarms".to_owned()
    }
    pub(super) fn topic_prefix() -> String {
        "healthsphere".to_owned()
    }
}
