//! `GET /fhir/R4/Observation` and `GET /fhir/R4/Observation/{id}`: FHIR R4
//! search and read over stored vitals.
//!
//! Each sample becomes an Observation shaped after the vital-signs profile:
//! status `final`, category `vital-signs`, the LOINC code and the IEEE 11073
//! MDC code of the metric, `effectiveDateTime`, and a UCUM `valueQuantity`.
//! Metrics without a LOINC vital-sign code (room and refrigerator
//! temperatures) are not served here. Samples flagged device-invalid or
//! implausible carry an `interpretation` note and are not hidden.
//!
//! Search parameters: `patient` (`<id>` or `Patient/<id>`) or `bed` (one of
//! the two is required), `code` (`[system|]code`, LOINC or MDC), `date`
//! (repeatable, with prefix `ge`, `gt`, `le` or `lt`), `_count` (1 to 200,
//! default 50). Newest first; the `next` link continues before the last
//! entry.
//!
//! By patient, the samples are those of the beds the patient was admitted to
//! within each admission (see [`super::vitals`]), the subject is
//! `Patient/<id>`, and `meta.profile` declares the vital-signs profiles the
//! metric has (`observation_id::profiles`). A read by id names the
//! admitted patient as subject in the same way. By bed, and for a sample no
//! admission covers, the subject is the bed by identifier and no profile is
//! declared, since the vital-signs profile requires a Patient subject. Ids
//! are stable and reversible: see the `observation_id` module.

use std::time::SystemTime;

use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use firmware_adapters::vocab::Metric;
use serde_json::{json, Value};

pub use super::observation_id::Source;
use super::vitals::Scope;
use super::{core, observation_id, Fields};
use crate::audit::Action;
use crate::db::{begin_tenant, query};
use crate::http::Principal;
use crate::problem::ApiError;
use crate::state::AppState;
use crate::time::{parse_rfc3339, rfc3339};

const LOINC: &str = "http://loinc.org";
/// The IEEE 11073-10101 nomenclature's FHIR system URI.
const MDC: &str = "urn:iso:std:iso:11073:10101";
const UCUM: &str = "http://unitsofmeasure.org";

/// The metrics served as vital signs: those with a LOINC code.
fn vital_metrics() -> impl Iterator<Item = Metric> {
    Metric::ALL.into_iter().filter(|m| m.info().loinc.is_some())
}

/// Metrics a `code` token names.
fn metrics_for_code(token: &str) -> Vec<Metric> {
    let (system, code) = match token.split_once('|') {
        Some((s, c)) => (Some(s), c),
        None => (None, token),
    };
    vital_metrics()
        .filter(|m| {
            let info = m.info();
            let loinc = matches!(system, None | Some(LOINC)) && info.loinc == Some(code);
            let mdc = matches!(system, None | Some(MDC))
                && (info.mdc_code.to_string() == code || info.mdc_ref == code);
            loinc || mdc
        })
        .collect()
}

struct Search {
    scope: Scope,
    metrics: Vec<Metric>,
    ge: Option<SystemTime>,
    lt: Option<SystemTime>,
    count: i64,
}

fn parse(raw: Option<&str>) -> Result<Search, ApiError> {
    let mut f = Fields::default();
    let mut bed = None;
    let mut patient = None;
    let mut metrics: Option<Vec<Metric>> = None;
    let (mut ge, mut lt) = (None, None);
    let mut count = 50;
    for pair in raw.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let v = percent_decode(v);
        match k {
            "bed" => bed = Some(v),
            "patient" => patient = Some(v.strip_prefix("Patient/").unwrap_or(&v).to_owned()),
            "code" => {
                let found: Vec<Metric> = v.split(',').flat_map(metrics_for_code).collect();
                if found.is_empty() {
                    f.bad("code", "names no vital sign served here");
                }
                metrics = Some(found);
            }
            "date" => {
                let (prefix, time) = match (v.get(..2), v.get(2..)) {
                    (Some(p), Some(t)) => (p, t),
                    _ => ("", ""),
                };
                match (prefix, parse_rfc3339(time)) {
                    ("ge", Some(t)) => ge = Some(t),
                    ("gt", Some(t)) => ge = Some(t + std::time::Duration::from_micros(1)),
                    ("lt", Some(t)) => lt = Some(t),
                    ("le", Some(t)) => lt = Some(t + std::time::Duration::from_micros(1)),
                    _ => f.bad("date", "must be ge, gt, le or lt and an RFC 3339 time"),
                }
            }
            "_count" => match v.parse::<i64>() {
                Ok(n) if (1..=200).contains(&n) => count = n,
                _ => f.bad("_count", "must be an integer from 1 to 200"),
            },
            "_cursor" => match parse_rfc3339(&v) {
                Some(t) => lt = Some(lt.map_or(t, |l: SystemTime| l.min(t))),
                None => f.bad("_cursor", "is not a cursor this API issued"),
            },
            _ => f.bad(k, "is not a supported search parameter"),
        }
    }
    let scope = match (bed, patient) {
        (None, Some(p)) => {
            if !(p.len() == 32 && p.bytes().all(|b| b.is_ascii_hexdigit())) {
                f.bad("patient", "is not a patient id this API issued");
            }
            Scope::Patient(p)
        }
        (Some(b), None) => {
            if !super::is_identifier(&b) {
                f.bad(
                    "bed",
                    "must be 1 to 64 characters of A-Z, a-z, 0-9, '-', '_', '.'",
                );
            }
            Scope::Bed(b)
        }
        _ => {
            f.bad(
                "bed",
                "is required unless patient is given, and not with it",
            );
            Scope::Bed(String::new())
        }
    };
    f.finish()?;
    Ok(Search {
        scope,
        metrics: metrics.unwrap_or_else(|| vital_metrics().collect()),
        ge,
        lt,
        count,
    })
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => match u8::from_str_radix(&s[i + 1..i + 3], 16) {
                Ok(v) => {
                    out.push(v);
                    i += 2;
                }
                Err(_) => out.push(b'%'),
            },
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// One sample as an Observation; `patient` is the admitted patient, if any.
pub fn observation(
    src: Source<'_>,
    metric: Metric,
    time: SystemTime,
    value: f64,
    quality: i16,
    patient: Option<&str>,
) -> Value {
    let info = metric.info();
    let unit = info.unit.ucum();
    let when = rfc3339(time);
    let mut coding = Vec::new();
    if let Some(loinc) = info.loinc {
        coding.push(json!({"system": LOINC, "code": loinc, "display": info.name}));
    }
    if metric == Metric::Spo2 {
        // The oxygen saturation profile fixes this code beside the pulse
        // oximetry one.
        coding.push(json!({"system": LOINC, "code": "2708-6", "display": "oxygen saturation"}));
    }
    coding.push(json!({"system": MDC, "code": info.mdc_code.to_string(), "display": info.mdc_ref}));
    let mut obs = json!({
        "resourceType": "Observation",
        "id": observation_id::encode(src, metric, time),
        "status": "final",
        "category": [{"coding": [{
            "system": "http://terminology.hl7.org/CodeSystem/observation-category",
            "code": "vital-signs", "display": "Vital Signs"}]}],
        "code": {"coding": coding, "text": info.name},
        "subject": {"identifier": {"system": "urn:healthsphere:bed", "value": src.bed}, "display": format!("bed {}", src.bed)},
        "effectiveDateTime": when,
        "device": {"identifier": {"system": "urn:healthsphere:device", "value": src.device}},
        "valueQuantity": {"value": value, "unit": unit, "system": UCUM, "code": unit},
    });
    if let Some(p) = patient {
        obs["subject"] = json!({"reference": format!("Patient/{p}")});
        let profiles = observation_id::profiles(metric);
        if !profiles.is_empty() {
            obs["meta"] = json!({"profile": profiles});
        }
    }
    if quality & 5 != 0 {
        obs["interpretation"] =
            json!([{"text": "flagged by the gateway: device-invalid or implausible"}]);
    }
    obs
}

/// `GET /fhir/R4/Observation`.
pub async fn search(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let s = parse(raw.as_deref())?;
    let names: Vec<&str> = s.metrics.iter().map(|m| m.name()).collect();
    let core = core(&state)?;
    let mut conn = core.pool.get().await?;
    let tx = begin_tenant(conn.client(), &who.tenant).await?;
    let rows = tx
        .query(
            &format!(
                "{}SELECT v.metric, v.value, v.time, v.device_id, v.quality, v.bed_id
                 FROM spans s JOIN vitals v ON v.bed_id = s.bed_id
                     AND v.time >= s.since AND v.time < s.until
                 WHERE v.metric = ANY($2)
                   AND ($3::timestamptz IS NULL OR v.time >= $3)
                   AND ($4::timestamptz IS NULL OR v.time < $4)
                 ORDER BY v.time DESC, v.metric, v.device_id LIMIT $5",
                s.scope.spans_cte()
            ),
            &[&s.scope.key(), &names, &s.ge, &s.lt, &(s.count + 1)],
        )
        .await
        .map_err(query("search observations"))?;
    let patient = match &s.scope {
        Scope::Patient(p) => Some(p.as_str()),
        Scope::Bed(_) => None,
    };
    let more = rows.len() > usize::try_from(s.count).unwrap_or(usize::MAX);
    let mut entries = Vec::new();
    let mut last = None;
    for r in rows.iter().take(usize::try_from(s.count).unwrap_or(0)) {
        let metric: String = r.get(0);
        let Ok(m) = metric.parse::<Metric>() else {
            continue;
        };
        let time: SystemTime = r.get(2);
        let device: String = r.get(3);
        let bed: String = r.get(5);
        let src = Source {
            tenant: who.tenant.as_str(),
            bed: &bed,
            device: &device,
        };
        let obs = observation(src, m, time, r.get(1), r.get(4), patient);
        entries.push(json!({"fullUrl": format!("urn:uuid:{}", uuid_like(&obs["id"])), "resource": obs, "search": {"mode": "match"}}));
        last = Some(time);
    }
    tx.commit().await.map_err(query("commit"))?;
    let mut e = who.event(Action::R, "fhir.observation.search", s.scope.kind());
    e.entity_id = Some(s.scope.key().to_owned());
    e.patient_id = patient.map(str::to_owned);
    core.audit_read(e).await?;
    let mut bundle = json!({"resourceType": "Bundle", "type": "searchset", "entry": entries});
    if let (true, Some(t)) = (more, last) {
        bundle["link"] = json!([{"relation": "next",
            "url": format!("/fhir/R4/Observation?{}={}&_count={}&_cursor={}",
                s.scope.kind(), s.scope.key(), s.count, rfc3339(t))}]);
    }
    Ok(fhir_json(bundle))
}

fn fhir_json(v: Value) -> Response {
    let mut res = Json(v).into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/fhir+json"),
    );
    res
}

/// `GET /fhir/R4/Observation/{id}`: one sample by its stable id; 404 for an
/// id this API did not issue, a metric not served as a vital sign, or a
/// sample of another tenant.
pub async fn read(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let key = observation_id::decode(&id)
        .filter(|k| k.metric.info().loinc.is_some())
        .ok_or_else(ApiError::not_found)?;
    let core = core(&state)?;
    let mut conn = core.pool.get().await?;
    let tx = begin_tenant(conn.client(), &who.tenant).await?;
    let rows = tx
        .query(
            "SELECT bed_id, device_id, value, quality FROM vitals
             WHERE metric = $1 AND time = $2",
            &[&key.metric.name(), &key.time],
        )
        .await
        .map_err(query("read an observation"))?;
    let row = rows
        .iter()
        .find(|r| {
            let src = Source {
                tenant: who.tenant.as_str(),
                bed: r.get(0),
                device: r.get(1),
            };
            observation_id::source_hash(src) == key.source
        })
        .ok_or_else(ApiError::not_found)?;
    let bed: String = row.get(0);
    let patient: Option<String> = tx
        .query_opt(
            "SELECT patient_id FROM admissions WHERE bed_id = $1 AND admitted_at <= $2
               AND (discharged_at IS NULL OR discharged_at > $2)",
            &[&bed, &key.time],
        )
        .await
        .map_err(query("find the admission of an observation"))?
        .map(|r| r.get(0));
    let src = Source {
        tenant: who.tenant.as_str(),
        bed: &bed,
        device: row.get(1),
    };
    let obs = observation(
        src,
        key.metric,
        key.time,
        row.get(2),
        row.get(3),
        patient.as_deref(),
    );
    tx.commit().await.map_err(query("commit"))?;
    let mut e = who.event(Action::R, "fhir.observation.read", "observation");
    e.entity_id = Some(id);
    e.patient_id = patient;
    core.audit_read(e).await?;
    Ok(fhir_json(obs))
}

/// The 32 hex digits of an id laid out as a UUID, for `fullUrl`.
fn uuid_like(id: &Value) -> String {
    let h = id.as_str().unwrap_or("");
    if h.len() != 32 {
        return h.to_owned();
    }
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_map_to_metrics_by_loinc_or_mdc() {
        assert_eq!(metrics_for_code("http://loinc.org|59408-5"), [Metric::Spo2]);
        assert_eq!(
            metrics_for_code("8867-4"),
            [Metric::HeartRate, Metric::PulseRate]
        );
        assert_eq!(
            metrics_for_code("urn:iso:std:iso:11073:10101|147842"),
            [Metric::HeartRate]
        );
        assert!(metrics_for_code("http://loinc.org|147842").is_empty());
        assert!(vital_metrics().all(|m| m != Metric::FridgeTemperature));
    }

    #[test]
    fn search_parameters_are_validated_together() {
        let e = parse(Some(
            "code=nope&date=eq2026-01-01T00:00:00Z&_count=0&colour=red",
        ))
        .err()
        .unwrap();
        let text = format!("{e:?}");
        for field in ["code", "date", "_count", "colour", "bed"] {
            assert!(
                text.contains(&format!("field: \"{field}\"")),
                "{field}: {text}"
            );
        }
        // A multi-byte character where the prefix ends is refused, not a panic.
        assert!(parse(Some("bed=b&date=%E0%A0%80")).is_err());
        assert!(parse(Some("bed=b&date=%")).is_err());
        let s = parse(Some("bed=bed%2D1&date=ge2026-01-01T00:00:00Z&_count=5")).unwrap();
        assert_eq!((s.scope.key(), s.count), ("bed-1", 5));
        assert!(s.ge.is_some() && s.lt.is_none());
        let p = "0123456789abcdef0123456789abcdef";
        let s = parse(Some(&format!("patient=Patient/{p}"))).unwrap();
        assert!(matches!(s.scope, Scope::Patient(ref x) if x == p));
        assert!(parse(Some(&format!("patient={p}&bed=b"))).is_err());
        assert!(parse(Some("patient=../x")).is_err());
    }
}
