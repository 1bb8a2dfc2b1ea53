//! Reading TOML into typed structs while collecting every problem, not only the
//! first: the shared machinery of the gateway configuration and device profiles.
//!
//! serde stops at the first error. [`deserialize_all`] works around that: after an
//! error it removes the offending key and tries again, so one run reports every
//! unknown key and every value of the wrong type, each with its key path. A
//! required key that is missing or of the wrong type ends the search, since no
//! value can stand in for it; keys visited after it are checked on the next run.

use std::fmt;

use serde::de::DeserializeOwned;
use serde_path_to_error::Segment;
use toml::Value;

/// One thing wrong with a file, at a key path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Dotted key path, such as `database.batch_max_rows` or `modbus.values[2].type`.
    pub path: String,
    /// What is wrong.
    pub message: String,
}

impl Problem {
    /// A problem at `path`.
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

/// Deserializes `value` into `T`, appending a [`Problem`] for every bad key, with
/// paths prefixed by `prefix`. Returns `None` when there was any problem.
pub fn deserialize_all<T: DeserializeOwned>(
    mut value: Value,
    prefix: &str,
    problems: &mut Vec<Problem>,
) -> Option<T> {
    let before = problems.len();
    // Each round removes one bad key; a table has far fewer keys than this.
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
            let path = join(prefix, &segments);
            // A required key removed for having the wrong type was reported already.
            if problems.last().is_none_or(|p| p.path != path) {
                problems.push(Problem::new(path, "missing key"));
            }
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

/// Parses TOML text into a table, or one problem naming the line and column.
///
/// # Errors
///
/// The syntax error as a [`Problem`] with an empty path.
pub fn parse_table(text: &str) -> Result<toml::Table, Problem> {
    text.parse().map_err(|e: toml::de::Error| {
        let at = e
            .span()
            .map(|s| line_col(text, s.start))
            .unwrap_or_default();
        Problem::new("", format!("not valid TOML{at}: {}", e.message()))
    })
}

/// " at line L, column C" for a byte offset, both counted from 1.
fn line_col(text: &str, offset: usize) -> String {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
    format!(" at line {line}, column {col}")
}

fn segment_name(s: &Segment) -> Option<String> {
    match s {
        Segment::Map { key } => Some(key.clone()),
        Segment::Seq { index } => Some(format!("[{index}]")),
        Segment::Enum { variant } => Some(variant.clone()),
        Segment::Unknown => None,
    }
}

/// Joins a prefix and path segments into a dotted path (`a.b[2].c`).
pub fn join(prefix: &str, segments: &[String]) -> String {
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
mod tests {
    use serde::Deserialize;

    use super::*;

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Inner {
        count: u32,
        #[serde(default)]
        name: String,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Outer {
        items: Vec<Inner>,
        #[serde(default)]
        flag: bool,
    }

    fn run(text: &str) -> (Option<Outer>, Vec<String>) {
        let mut problems = Vec::new();
        let value = Value::Table(parse_table(text).unwrap());
        let out = deserialize_all::<Outer>(value, "top", &mut problems);
        (out, problems.iter().map(ToString::to_string).collect())
    }

    #[test]
    fn every_bad_key_is_reported_in_one_pass() {
        let (out, problems) = run(
            "flag = 3\n[[items]]\ncount = 1\nname = 5\ncolour = 1\n[[items]]\ncount = 2\nnmae = \"a\"\n",
        );
        assert_eq!(out, None);
        let paths: Vec<&str> = problems
            .iter()
            .map(|p| p.split(':').next().unwrap())
            .collect();
        assert_eq!(
            paths,
            [
                "top.flag",
                "top.items[0].colour",
                "top.items[0].name",
                "top.items[1].nmae"
            ]
        );
        assert!(problems[1].contains("unknown key `colour`"), "{problems:?}");
        assert!(
            problems[2].contains("invalid type: integer `5`"),
            "{problems:?}"
        );
    }

    #[test]
    fn required_key_of_the_wrong_type_is_reported_once() {
        let (_, problems) = run("[[items]]\ncount = \"x\"\n");
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(
            problems[0].starts_with("top.items[0].count: invalid type"),
            "{problems:?}"
        );
    }

    #[test]
    fn missing_required_key_is_named() {
        let (_, problems) = run("[[items]]\nname = \"a\"\n");
        assert_eq!(problems, ["top.items[0].count: missing key"]);
    }

    #[test]
    fn good_input_deserializes() {
        let (out, problems) = run("[[items]]\ncount = 1\n");
        assert!(problems.is_empty());
        assert_eq!(
            out.unwrap().items[0],
            Inner {
                count: 1,
                name: String::new()
            }
        );
    }

    #[test]
    fn syntax_error_names_line_and_column() {
        let err = parse_table("a = 1\nb = [\n").unwrap_err();
        assert!(
            err.message
                .starts_with("not valid TOML at line 3, column 1"),
            "{err}"
        );
    }
}
