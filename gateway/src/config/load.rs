//! Reading the file and collecting every problem in it.
//!
//! Each top-level section (and each element of an array of tables) is deserialized
//! on its own with [`deserialize_all`], which reports every bad key in it, so a
//! missing required key in one section does not hide problems in the others.
//! Semantic checks ([`super::validate`]) run once the structure is sound.

use std::fmt;
use std::path::{Path, PathBuf};

pub use firmware_adapters::check::Problem;
use firmware_adapters::check::{deserialize_all, parse_table};
use firmware_adapters::profile::{FileProblem, ProfileSet};
use serde::de::DeserializeOwned;
use toml::{Table, Value};

use super::{validate, DatabaseSection, GatewayConfig, DATABASE_URL_ENV};

/// A configuration file could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigError {
    /// The file.
    pub file: PathBuf,
    /// Every problem found, in file order where known.
    pub problems: Vec<Problem>,
    /// Problems in the profile files the configuration uses.
    pub profile_problems: Vec<FileProblem>,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.problems.len() + self.profile_problems.len();
        let plural = if n == 1 { "" } else { "s" };
        write!(f, "{}: {n} problem{plural}", self.file.display())?;
        for p in &self.problems {
            write!(f, "\n  {p}")?;
        }
        for p in &self.profile_problems {
            write!(f, "\n  profile {p}")?;
        }
        Ok(())
    }
}

/// Loads and validates the configuration file at `path`. `env` looks up
/// environment variables (pass `|k| std::env::var(k).ok()`).
///
/// # Errors
///
/// A [`ConfigError`] listing every problem found.
pub fn load(
    path: &Path,
    env: impl Fn(&str) -> Option<String>,
) -> Result<GatewayConfig, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
        file: path.to_owned(),
        problems: vec![Problem::new("", format!("cannot read the file: {e}"))],
        profile_problems: Vec::new(),
    })?;
    load_str(&text, path, env)
}

/// Like [`load`], for text already read; `file` names it in errors.
///
/// # Errors
///
/// A [`ConfigError`] listing every problem found.
pub fn load_str(
    text: &str,
    file: &Path,
    env: impl Fn(&str) -> Option<String>,
) -> Result<GatewayConfig, ConfigError> {
    let fail = |problems| ConfigError {
        file: file.to_owned(),
        problems,
        profile_problems: Vec::new(),
    };
    let table = parse_table(text).map_err(|p| fail(vec![p]))?;
    let mut problems = Vec::new();
    let config = structure(table, &mut problems);
    let Some(mut config) = config.filter(|_| problems.is_empty()) else {
        return Err(fail(problems));
    };
    if let Some(url) = env(DATABASE_URL_ENV).filter(|u| !u.is_empty()) {
        match &mut config.database {
            Some(db) => db.url = super::Secret::new(url),
            None => config.database = Some(DatabaseSection::from_url(url)),
        }
    }
    let base = file.parent().unwrap_or(Path::new("."));
    let defaulted = config.profiles == super::ProfilesSection::default();
    config.profiles.dirs = config.profiles.dirs.iter().map(|d| base.join(d)).collect();
    if defaulted {
        // The default folder is optional: a gateway with no devices needs none.
        config.profiles.dirs.retain(|d| d.is_dir());
    }
    let profile_problems = match ProfileSet::load(&config.profiles.dirs) {
        Ok(set) => {
            config.profile_set = set;
            Vec::new()
        }
        Err(problems) => problems,
    };
    super::alerting::resolve(&mut config.alerting, base, &env, &mut problems);
    super::alerting::check(&config.alerting, &mut problems);
    validate::check(&config, &mut problems);
    if problems.is_empty() && profile_problems.is_empty() {
        Ok(config)
    } else {
        Err(ConfigError {
            file: file.to_owned(),
            problems,
            profile_problems,
        })
    }
}

const SECTIONS: [&str; 10] = [
    "site",
    "spool",
    "database",
    "api",
    "simulator",
    "profiles",
    "mqtt",
    "device",
    "hl7",
    "alerting",
];

fn structure(mut table: Table, problems: &mut Vec<Problem>) -> Option<GatewayConfig> {
    for key in table.keys() {
        if !SECTIONS.contains(&key.as_str()) {
            let expected = SECTIONS.join(", ");
            problems.push(Problem::new(
                key.clone(),
                format!("unknown key; expected one of {expected}"),
            ));
        }
    }
    let mut take = |name: &str| table.remove(name);
    let site = required(&mut take, "site", problems);
    let spool = required(&mut take, "spool", problems);
    let database = take("database").map(|v| section(v, "database", problems));
    let api = take("api").map(|v| section(v, "api", problems));
    let simulator = array(take("simulator"), "simulator", problems);
    let profiles = take("profiles").map(|v| section(v, "profiles", problems));
    let mqtt = take("mqtt").map(|v| section(v, "mqtt", problems));
    let device = array(take("device"), "device", problems);
    let hl7 = take("hl7").map(|v| section(v, "hl7", problems));
    let alerting = take("alerting").map(|v| section(v, "alerting", problems));
    Some(GatewayConfig {
        site: site?,
        spool: spool?,
        database: database.map_or(Some(None), |d| d.map(Some))?,
        api: api.map_or(Some(Default::default()), |a| a)?,
        simulator: simulator?,
        profiles: profiles.map_or(Some(Default::default()), |p| p)?,
        mqtt: mqtt.map_or(Some(None), |m| m.map(Some))?,
        device: device?,
        hl7: hl7.map_or(Some(None), |h| h.map(Some))?,
        alerting: alerting.map_or(Some(Default::default()), |a| a)?,
        profile_set: ProfileSet::default(),
    })
}

/// An array of tables (`[[name]]`), each element checked on its own.
fn array<T: DeserializeOwned>(
    value: Option<Value>,
    name: &str,
    problems: &mut Vec<Problem>,
) -> Option<Vec<T>> {
    match value {
        None => Some(Vec::new()),
        Some(Value::Array(items)) => items
            .into_iter()
            .enumerate()
            .map(|(i, v)| section(v, &format!("{name}[{i}]"), problems))
            .collect(),
        Some(_) => {
            problems.push(Problem::new(
                name,
                format!("must be an array of tables: [[{name}]]"),
            ));
            None
        }
    }
}

fn required<T: DeserializeOwned>(
    take: &mut impl FnMut(&str) -> Option<Value>,
    name: &str,
    problems: &mut Vec<Problem>,
) -> Option<T> {
    match take(name) {
        Some(v) => section(v, name, problems),
        None => {
            problems.push(Problem::new(name, format!("missing section [{name}]")));
            None
        }
    }
}

fn section<T: DeserializeOwned>(
    value: Value,
    prefix: &str,
    problems: &mut Vec<Problem>,
) -> Option<T> {
    deserialize_all(value, prefix, problems)
}

#[cfg(test)]
mod tests;
