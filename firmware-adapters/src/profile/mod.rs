//! Device profiles: how a device model talks and what its data means, written by a
//! biomedical engineer in TOML instead of code.
//!
//! A profile file describes one device model: its transport section (`[mqtt]`,
//! `[modbus]` or `[serial]`, exactly one), how its data maps to metrics, and timeouts with units
//! in the key names. A device *instance* in the gateway configuration
//! ([`DeviceConfig`]) names its profile, its bed or location, and its connection
//! settings.
//!
//! Profiles come from folders: the shipped ones in `deploy/profiles/`, then a
//! site's own folder. A site profile with the same `name` as a shipped one replaces
//! it; two profiles with one name in the same folder are an error. Every problem in
//! every file is reported with the file, the key path and the reason.

mod device;
pub mod modbus;
pub mod mqtt;
pub mod serial;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Deserialize;

pub use device::DeviceConfig;

use crate::check::{deserialize_all, parse_table, Problem};

/// One device model.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    /// The name device instances refer to.
    pub name: String,
    /// What the device is, for people.
    #[serde(default)]
    pub description: String,
    /// A device that sends nothing for this long is reported as silent (a
    /// technical alarm): the gateway can no longer see the patient through it.
    pub silence_timeout_ms: u64,
    /// Set for devices that publish over MQTT.
    pub mqtt: Option<mqtt::MqttProfile>,
    /// Set for devices polled over Modbus TCP or RTU.
    pub modbus: Option<modbus::ModbusProfile>,
    /// Set for bedside devices on a serial line (Nonin, Masimo, Datex, Medibus).
    pub serial: Option<serial::SerialProfile>,
}

/// The transport a profile uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// MQTT, through the embedded or an external broker.
    Mqtt,
    /// Modbus TCP or RTU.
    Modbus,
    /// A vendor protocol on a serial line.
    Serial,
}

impl Profile {
    /// The profile's transport; validation guarantees exactly one.
    pub fn protocol(&self) -> Protocol {
        if self.mqtt.is_some() {
            Protocol::Mqtt
        } else if self.serial.is_some() {
            Protocol::Serial
        } else {
            Protocol::Modbus
        }
    }

    /// Parses and validates one profile file's text.
    ///
    /// # Errors
    ///
    /// Every problem found, with key paths.
    pub fn parse(text: &str) -> Result<Self, Vec<Problem>> {
        let table = parse_table(text).map_err(|p| vec![p])?;
        let mut problems = Vec::new();
        let profile: Option<Self> = deserialize_all(toml::Value::Table(table), "", &mut problems);
        let Some(profile) = profile else {
            return Err(problems);
        };
        profile.validate(&mut problems);
        if problems.is_empty() {
            Ok(profile)
        } else {
            Err(problems)
        }
    }

    fn validate(&self, problems: &mut Vec<Problem>) {
        if !is_identifier(&self.name) {
            problems.push(Problem::new(
                "name",
                "must be 1 to 64 letters, digits, - _ . or /",
            ));
        }
        if self.silence_timeout_ms == 0 {
            problems.push(Problem::new("silence_timeout_ms", "must be at least 1"));
        }
        match (&self.mqtt, &self.modbus, &self.serial) {
            (Some(m), None, None) => m.validate(problems),
            (None, Some(m), None) => m.validate(problems),
            (None, None, Some(s)) => s.validate(problems),
            (None, None, None) => problems.push(Problem::new(
                "",
                "needs a [mqtt], [modbus] or [serial] section",
            )),
            _ => {
                problems.push(Problem::new(
                    "",
                    "has more than one of [mqtt], [modbus] and [serial]; a profile has one transport",
                ));
            }
        }
    }
}

/// Names and identifiers: short, plain ASCII.
pub(crate) fn is_identifier(s: &str) -> bool {
    let plain = |c: char| c.is_ascii_alphanumeric() || "-_./:".contains(c);
    !s.is_empty() && s.len() <= 64 && s.chars().all(plain)
}

/// A problem in a profile file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileProblem {
    /// The file.
    pub file: PathBuf,
    /// What is wrong, where.
    pub problem: Problem,
}

impl std::fmt::Display for FileProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.file.display(), self.problem)
    }
}

/// The loaded profiles, by name.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProfileSet {
    profiles: BTreeMap<String, (Arc<Profile>, PathBuf)>,
}

impl ProfileSet {
    /// Loads every `*.toml` file in `dirs`, in order; a later folder's profile
    /// replaces an earlier one of the same name.
    ///
    /// # Errors
    ///
    /// Every problem of every file (including unreadable folders and duplicate names
    /// within one folder).
    pub fn load(dirs: &[PathBuf]) -> Result<Self, Vec<FileProblem>> {
        let mut set = Self::default();
        let mut problems = Vec::new();
        for dir in dirs {
            set.load_dir(dir, &mut problems);
        }
        if problems.is_empty() {
            Ok(set)
        } else {
            Err(problems)
        }
    }

    fn load_dir(&mut self, dir: &Path, problems: &mut Vec<FileProblem>) {
        let mut files = match std::fs::read_dir(dir) {
            Ok(entries) => entries
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|e| e == "toml"))
                .collect::<Vec<_>>(),
            Err(e) => {
                let problem = Problem::new("", format!("cannot read the profile folder: {e}"));
                problems.push(FileProblem {
                    file: dir.to_owned(),
                    problem,
                });
                return;
            }
        };
        files.sort();
        let mut seen: BTreeMap<String, PathBuf> = BTreeMap::new();
        for file in files {
            let parsed = std::fs::read_to_string(&file)
                .map_err(|e| vec![Problem::new("", format!("cannot read the file: {e}"))])
                .and_then(|text| Profile::parse(&text));
            match parsed {
                Ok(profile) => {
                    if let Some(first) = seen.insert(profile.name.clone(), file.clone()) {
                        let msg =
                            format!("`{}` is also defined in {}", profile.name, first.display());
                        problems.push(FileProblem {
                            file,
                            problem: Problem::new("name", msg),
                        });
                        continue;
                    }
                    self.profiles
                        .insert(profile.name.clone(), (Arc::new(profile), file));
                }
                Err(ps) => {
                    problems.extend(ps.into_iter().map(|problem| FileProblem {
                        file: file.clone(),
                        problem,
                    }));
                }
            }
        }
    }

    /// The profile called `name`.
    pub fn get(&self, name: &str) -> Option<&Arc<Profile>> {
        self.profiles.get(name).map(|(p, _)| p)
    }

    /// The file a profile came from.
    pub fn source(&self, name: &str) -> Option<&Path> {
        self.profiles.get(name).map(|(_, f)| f.as_path())
    }

    /// Every profile name.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.profiles.keys().map(String::as_str)
    }
}

#[cfg(test)]
mod tests;
