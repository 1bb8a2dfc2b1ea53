//! Device administration for biomedical engineers: the configured devices
//! with their adapter health, the status board, the loaded profiles,
//! validating and uploading a profile, and reloading the device set.
//!
//! Device data holds no patient data, so reads are not audited; every upload
//! and every reload is. An upload only writes the file: the running set
//! changes at the next reload (this API's or SIGHUP), which validates the
//! whole configuration again and keeps the running set when it is refused.

use std::collections::BTreeMap;
use std::path::Path;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use firmware_adapters::health::DeviceHealth;
use firmware_adapters::modbus::{StatusData, StatusValue};
use firmware_adapters::profile::{Profile, Protocol};
use serde::{Deserialize, Serialize};

use super::{core, Fields};
use crate::audit::{Action, Outcome};
use crate::devices::{DeviceAdmin, ReloadError, ReloadOutcome};
use crate::http::{JsonBody, Principal};
use crate::problem::{ApiError, FieldError};
use crate::state::AppState;
use crate::time::rfc3339;

/// The device administration of this gateway's site; 403 for callers of
/// another tenant, whose devices these are not, audited as a refusal.
async fn admin<'a>(state: &'a AppState, who: &Principal) -> Result<&'a DeviceAdmin, ApiError> {
    let admin = state.devices.as_ref().ok_or_else(ApiError::unavailable)?;
    if admin.tenant() == who.tenant.as_str() {
        return Ok(admin);
    }
    let mut e = who.event(Action::E, "access.denied", "route");
    e.entity_id = Some("devices".to_owned());
    e.outcome = Outcome::MinorFailure;
    e.reason = Some("another site's devices".to_owned());
    core(state)?.audit_read(e).await?;
    Err(ApiError::forbidden())
}

fn protocol_name(p: Protocol) -> &'static str {
    match p {
        Protocol::Mqtt => "mqtt",
        Protocol::Modbus => "modbus",
        Protocol::Serial => "serial",
    }
}

/// Adapter health as the API shows it.
#[derive(Debug, Serialize)]
pub struct HealthView {
    adapter: &'static str,
    state: firmware_adapters::health::ConnectionState,
    last_reading: Option<String>,
    frames: u64,
    readings: u64,
    errors: u64,
    last_error: Option<String>,
}

impl From<DeviceHealth> for HealthView {
    fn from(h: DeviceHealth) -> Self {
        Self {
            adapter: h.adapter,
            state: h.state,
            last_reading: h.last_reading.map(rfc3339),
            frames: h.frames,
            readings: h.readings,
            errors: h.errors,
            last_error: h.last_error,
        }
    }
}

/// One device: its configuration and its adapter's health (`None` before
/// the adapter first reports).
#[derive(Debug, Serialize)]
pub struct DeviceView {
    device_id: String,
    bed_id: Option<String>,
    profile: Option<String>,
    protocol: Option<&'static str>,
    health: Option<HealthView>,
}

/// `GET /api/v1/devices`: the configured devices, then devices that report
/// health without a `[[device]]` entry (HL7 senders).
pub async fn list(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
) -> Result<Json<Vec<DeviceView>>, ApiError> {
    let inv = admin(&state, &who).await?.inventory();
    let mut health = state.health.snapshot();
    let mut out: Vec<DeviceView> = inv
        .devices
        .iter()
        .map(|d| DeviceView {
            device_id: d.device_id.clone(),
            bed_id: Some(d.bed_id.clone()),
            profile: Some(d.profile.clone()),
            protocol: inv
                .profiles
                .get(&d.profile)
                .map(|p| protocol_name(p.protocol())),
            health: health.remove(&d.device_id).map(HealthView::from),
        })
        .collect();
    out.extend(health.into_iter().map(|(id, h)| DeviceView {
        device_id: id,
        bed_id: None,
        profile: None,
        protocol: None,
        health: Some(h.into()),
    }));
    Ok(Json(out))
}

/// One status value.
#[derive(Debug, Serialize)]
pub struct StatusView {
    value: serde_json::Value,
    unit: Option<&'static str>,
}

impl From<StatusValue> for StatusView {
    fn from(v: StatusValue) -> Self {
        let value = match v.value {
            StatusData::Flag(b) => b.into(),
            StatusData::Number(n) => n.into(),
            StatusData::Text(s) => s.into(),
        };
        Self {
            value,
            unit: v.unit.map(firmware_adapters::Unit::ucum),
        }
    }
}

/// `GET /api/v1/devices/statuses`: the latest statuses, by device then name.
pub async fn statuses(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
) -> Result<Json<BTreeMap<String, BTreeMap<String, StatusView>>>, ApiError> {
    let map = admin(&state, &who).await?.status().snapshot();
    Ok(Json(
        map.into_iter()
            .map(|(id, s)| {
                (
                    id,
                    s.into_values()
                        .map(|v| (v.name.clone(), v.into()))
                        .collect(),
                )
            })
            .collect(),
    ))
}

/// One loaded profile.
#[derive(Debug, Serialize)]
pub struct ProfileView {
    name: String,
    description: String,
    protocol: &'static str,
    silence_timeout_ms: u64,
    /// The file name (not the server's path).
    file: Option<String>,
    /// Whether it comes from the site's own folder (uploads go there).
    site: bool,
}

/// `GET /api/v1/device-profiles`: every loaded profile.
pub async fn profiles(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
) -> Result<Json<Vec<ProfileView>>, ApiError> {
    let admin = admin(&state, &who).await?;
    let inv = admin.inventory();
    let site = admin.site_profile_dir();
    let out = inv
        .profiles
        .names()
        .filter_map(|n| {
            let p = inv.profiles.get(n)?;
            let source = inv.profiles.source(n);
            Some(ProfileView {
                name: p.name.clone(),
                description: p.description.clone(),
                protocol: protocol_name(p.protocol()),
                silence_timeout_ms: p.silence_timeout_ms,
                file: source
                    .and_then(Path::file_name)
                    .map(|f| f.to_string_lossy().into_owned()),
                site: matches!((source.and_then(Path::parent), site), (Some(a), Some(b)) if a == b),
            })
        })
        .collect();
    Ok(Json(out))
}

/// `POST /api/v1/device-profiles/validate` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ValidateRequest {
    toml: String,
}

/// A valid profile.
#[derive(Debug, Serialize)]
pub struct Validated {
    name: String,
    protocol: &'static str,
}

/// Parses and validates `text`: 422 naming every problem's key path (`.`
/// for the file as a whole).
fn check(text: &str) -> Result<Profile, ApiError> {
    Profile::parse(text).map_err(|problems| {
        ApiError::unprocessable(
            problems
                .into_iter()
                .map(|p| FieldError {
                    field: if p.path.is_empty() {
                        ".".to_owned()
                    } else {
                        p.path
                    },
                    message: p.message,
                })
                .collect(),
        )
    })
}

/// `POST /api/v1/device-profiles/validate`: checks a profile, changes
/// nothing.
pub async fn validate(
    JsonBody(req): JsonBody<ValidateRequest>,
) -> Result<Json<Validated>, ApiError> {
    let p = check(&req.toml)?;
    Ok(Json(Validated {
        protocol: protocol_name(p.protocol()),
        name: p.name,
    }))
}

/// `POST /api/v1/device-profiles` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UploadRequest {
    file_name: Option<String>,
    toml: Option<String>,
}

/// An uploaded profile.
#[derive(Debug, Serialize)]
pub struct Uploaded {
    file_name: String,
    name: String,
    protocol: &'static str,
    /// Whether a file of that name was replaced.
    replaced: bool,
}

/// Whether `name` is a plain profile file name: 1 to 64 letters, digits,
/// `-` and `_`, then `.toml`. No separators, no dot files, so it cannot
/// leave the folder.
pub(crate) fn is_profile_file_name(name: &str) -> bool {
    name.strip_suffix(".toml").is_some_and(|stem| {
        !stem.is_empty()
            && stem.len() <= 64
            && !stem.starts_with('-')
            && stem
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    })
}

/// `POST /api/v1/device-profiles`: validates, then writes the profile into
/// the site's folder for the next reload. Audited before the write.
pub async fn upload(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    JsonBody(req): JsonBody<UploadRequest>,
) -> Result<Response, ApiError> {
    let mut fields = Fields::default();
    let file_name = fields.text("file_name", req.file_name, 6, 69);
    let text = fields.text_allowing_lines("toml", req.toml);
    if !file_name.is_empty() && !is_profile_file_name(&file_name) {
        fields.bad(
            "file_name",
            "must be 1 to 64 letters, digits, - or _ followed by .toml",
        );
    }
    fields.finish()?;
    let profile = check(&text)?;
    let admin = admin(&state, &who).await?;
    let dir = admin
        .site_profile_dir()
        .ok_or_else(ApiError::unavailable)?
        .to_owned();
    // Two files of one folder may not define the same name: the next
    // reload would be refused.
    let inv = admin.inventory();
    if let Some(src) = inv.profiles.source(&profile.name) {
        if src.parent() == Some(dir.as_path())
            && src.file_name().is_some_and(|f| f != file_name.as_str())
        {
            let other = src.file_name().map(|f| f.to_string_lossy().into_owned());
            return Err(ApiError::conflict(format!(
                "profile `{}` is already defined in {}",
                profile.name,
                other.unwrap_or_default()
            )));
        }
    }
    let target = dir.join(&file_name);
    let replaced = target.exists();
    let core = core(&state)?;
    let action = if replaced { Action::U } else { Action::C };
    let mut e = who.event(action, "device_profile.upload", "device_profile");
    e.entity_id = Some(file_name.clone());
    e.reason = Some(format!("profile {}", profile.name));
    core.audit_read(e).await?;
    if let Err(err) = write_atomically(&dir, &file_name, text.as_bytes()).await {
        tracing::error!(file = %target.display(), error = %err, "Profile upload not written");
        let mut e = who.event(action, "device_profile.upload", "device_profile");
        e.entity_id = Some(file_name.clone());
        e.outcome = Outcome::SeriousFailure;
        let _ = core.audit_read(e).await;
        return Err(ApiError::internal(&err));
    }
    tracing::info!(file = %target.display(), profile = %profile.name, "Profile uploaded");
    let body = Uploaded {
        file_name,
        protocol: protocol_name(profile.protocol()),
        name: profile.name,
        replaced,
    };
    let status = if replaced {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok((status, Json(body)).into_response())
}

/// Writes beside the target under a name the loader skips (not `*.toml`),
/// unique per upload so concurrent uploads do not share it, syncs, then
/// renames over the target, so a reload never reads half a file; the last
/// rename wins.
async fn write_atomically(dir: &Path, name: &str, data: &[u8]) -> std::io::Result<()> {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let tmp = dir.join(format!(".{name}.{}-{n}.upload", std::process::id()));
    let target = dir.join(name);
    let data = data.to_vec();
    tokio::task::spawn_blocking(move || {
        use std::io::Write as _;
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(&data)?;
        f.sync_all()?;
        std::fs::rename(&tmp, &target)
    })
    .await
    .map_err(std::io::Error::other)?
}

/// What a reload did.
#[derive(Debug, Serialize)]
pub struct Reloaded {
    applied: bool,
    devices: Option<usize>,
    profiles: Option<usize>,
    problems: Vec<String>,
}

/// `POST /api/v1/devices/reload`: the gateway's SIGHUP reload. 200 whether
/// applied or refused (the body says which, with every problem); audited.
pub async fn reload(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
) -> Result<Json<Reloaded>, ApiError> {
    let admin = admin(&state, &who).await?;
    let core = core(&state)?;
    let outcome = admin.reload().await.map_err(|e| match e {
        ReloadError::Unavailable => ApiError::unavailable(),
        ReloadError::Busy => ApiError::conflict("a reload is already waiting"),
    })?;
    let mut e = who.event(Action::E, "devices.reload", "device_configuration");
    let body = match outcome {
        ReloadOutcome::Applied { devices, profiles } => Reloaded {
            applied: true,
            devices: Some(devices),
            profiles: Some(profiles),
            problems: Vec::new(),
        },
        ReloadOutcome::Refused { problems } => {
            e.outcome = Outcome::MinorFailure;
            e.reason = Some(format!("refused with {} problems", problems.len()));
            Reloaded {
                applied: false,
                devices: None,
                profiles: None,
                problems,
            }
        }
    };
    core.audit_read(e).await?;
    Ok(Json(body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profile_file_names_stay_in_the_folder() {
        for ok in [
            "a.toml",
            "pump-2_x.toml",
            &format!("{}.toml", "a".repeat(64)),
        ] {
            assert!(is_profile_file_name(ok), "{ok}");
        }
        for bad in [
            ".toml",
            "../x.toml",
            "a/b.toml",
            "..toml",
            ".hidden.toml",
            "a.toml.bak",
            "a",
            "-rf.toml",
            "a b.toml",
            "a\\b.toml",
            &format!("{}.toml", "a".repeat(65)),
        ] {
            assert!(!is_profile_file_name(bad), "{bad}");
        }
    }
}
