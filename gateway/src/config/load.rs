//! Reading the file and collecting every problem in it.
//!
//! serde stops at the first error, so the loader works around it: each top-level
//! section (and each element of an array of tables) is deserialized on its own, and
//! after an error the offending key is removed and the section tried again. A
//! missing required key ends that section's search, since no value can stand in for
//! it. Semantic checks ([`super::validate`]) run once the structure is sound.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde_path_to_error::Segment;
use toml::{Table, Value};

use super::{validate, DatabaseSection, GatewayConfig, DATABASE_URL_ENV};

/// One thing wrong with a configuration file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Dotted key path, such as `database.batch_max_rows` or `simulator[2].bed_id`.
    pub path: String,
    /// What is wrong.
    pub message: String,
}

impl Problem {
    pub(super) fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            message: message.into(),
        }
    }
}

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
            if p.path.is_empty() {
                write!(f, "\n  {}", p.message)?;
            } else {
                write!(f, "\n  {}: {}", p.path, p.message)?;
            }
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
    let table: Table = text.parse().map_err(|e: toml::de::Error| {
        let at = e
            .span()
            .map(|s| line_col(text, s.start))
            .unwrap_or_default();
        fail(vec![Problem::new(
            "",
            format!("not valid TOML{at}: {}", e.message()),
        )])
    })?;
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

/// " at line L, column C" for a byte offset, both counted from 1.
fn line_col(text: &str, offset: usize) -> String {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
    format!(" at line {line}, column {col}")
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

/// Deserializes one section, reporting every bad key in it.
fn section<T: DeserializeOwned>(
    mut value: Value,
    prefix: &str,
    problems: &mut Vec<Problem>,
) -> Option<T> {
    let before = problems.len();
    // Each round removes one bad key; a section has far fewer keys than this.
    for _ in 0..64 {
        let err = match serde_path_to_error::deserialize::<_, T>(value.clone()) {
            Ok(v) => return (problems.len() == before).then_some(v),
            Err(e) => e,
        };
        let mut segments: Vec<String> = err.path().iter().filter_map(segment_name).collect();
        let message = err.into_inner().message().to_owned();
        if let Some(field) = quoted_after(&message, "unknown field `") {
            if segments.last() != Some(&field) {
                segments.push(field);
            }
        }
        if let Some(field) = quoted_after(&message, "missing field `") {
            segments.push(field);
            problems.push(Problem::new(join(prefix, &segments), "missing key"));
            return None;
        }
        let message = message.replace("unknown field", "unknown key");
        problems.push(Problem::new(join(prefix, &segments), message));
        if !remove(&mut value, &segments) {
            return None;
        }
    }
    None
}

fn segment_name(s: &Segment) -> Option<String> {
    match s {
        Segment::Map { key } => Some(key.clone()),
        Segment::Seq { index } => Some(format!("[{index}]")),
        Segment::Enum { variant } => Some(variant.clone()),
        Segment::Unknown => None,
    }
}

fn join(prefix: &str, segments: &[String]) -> String {
    let mut path = prefix.to_owned();
    for s in segments {
        if !s.starts_with('[') && !path.is_empty() {
            path.push('.');
        }
        path.push_str(s);
    }
    path
}

fn quoted_after(message: &str, marker: &str) -> Option<String> {
    let rest = &message[message.find(marker)? + marker.len()..];
    Some(rest[..rest.find('`')?].to_owned())
}

/// Removes the key at `segments` from `value`; false when it is not there.
fn remove(value: &mut Value, segments: &[String]) -> bool {
    let Some((last, parents)) = segments.split_last() else {
        return false;
    };
    let mut at = value;
    for s in parents {
        let next = match (at, s.strip_prefix('[').and_then(|i| i.strip_suffix(']'))) {
            (Value::Array(a), Some(i)) => i.parse::<usize>().ok().and_then(|i| a.get_mut(i)),
            (Value::Table(t), None) => t.get_mut(s),
            _ => None,
        };
        match next {
            Some(v) => at = v,
            None => return false,
        }
    }
    match at {
        Value::Table(t) => t.remove(last).is_some(),
        _ => false,
    }
}

#[cfg(test)]
mod tests;
