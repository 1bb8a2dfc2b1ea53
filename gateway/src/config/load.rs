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
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.problems.len();
        let plural = if n == 1 { "" } else { "s" };
        write!(f, "{}: {n} problem{plural}", self.file.display())?;
        for p in &self.problems {
            write!(f, "\n  {p}")?;
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
    validate::check(&config, &mut problems);
    if problems.is_empty() {
        Ok(config)
    } else {
        Err(fail(problems))
    }
}

const SECTIONS: [&str; 5] = ["site", "spool", "database", "api", "simulator"];

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
    let simulator = match take("simulator") {
        None => Some(Vec::new()),
        Some(Value::Array(items)) => items
            .into_iter()
            .enumerate()
            .map(|(i, v)| section(v, &format!("simulator[{i}]"), problems))
            .collect(),
        Some(_) => {
            problems.push(Problem::new(
                "simulator",
                "must be an array of tables: [[simulator]]",
            ));
            None
        }
    };
    Some(GatewayConfig {
        site: site?,
        spool: spool?,
        database: database.map_or(Some(None), |d| d.map(Some))?,
        api: api.map_or(Some(Default::default()), |a| a)?,
        simulator: simulator?,
    })
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

fn section<T: DeserializeOwned>(value: Value, prefix: &str, problems: &mut Vec<Problem>) -> Option<T> {
    deserialize_all(value, prefix, problems)
}

#[cfg(test)]
mod tests;
