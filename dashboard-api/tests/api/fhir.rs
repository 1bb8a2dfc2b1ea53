//! FHIR output validated by an independent library: fhir.resources (PyPI),
//! through tests/peers/fhir_validate.py. Skips without it unless
//! `HEALTHSPHERE_REQUIRE_PEERS=1`.

use std::io::Write as _;
use std::process::{Command, Stdio};

use axum::http::{Method, StatusCode};
use dashboard_api::roles::Role;
use serde_json::{json, Value};

use crate::support::{cheap_config, env};

const VALIDATOR: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../tests/peers/fhir_validate.py"
);

fn validator_present() -> bool {
    let ok = Command::new("python3")
        .args(["-c", "import fhir.resources.R4B"])
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        assert!(
            !std::env::var("HEALTHSPHERE_REQUIRE_PEERS").is_ok_and(|v| v == "1"),
            "fhir.resources is required (pip install -r tests/peers/requirements.txt)"
        );
        #[expect(clippy::print_stderr, reason = "a skipped test says why")]
        {
            eprintln!("SKIPPED fhir validation: python3 with fhir.resources is missing");
        }
    }
    ok
}

fn validate(bundle: &Value) -> String {
    let mut child = Command::new("python3")
        .arg(VALIDATOR)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("start the validator");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(bundle.to_string().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    assert!(
        out.status.success(),
        "fhir.resources refused it: {text}\n{bundle:#}"
    );
    text
}

#[tokio::test]
async fn observations_and_audit_events_are_valid_fhir() {
    if !validator_present() {
        return;
    }
    let Some(env) = env("fhir_validation", cheap_config()).await else {
        return;
    };
    env.owner
        .batch_execute(
            "INSERT INTO vitals (time, received_at, tenant_id, bed_id, device_id, metric, value, quality)
             VALUES ('2026-11-30 10:00:00.123456Z', now(), 'st-mary', 'bed-1', 'mon-1', 'heart_rate', 72, 0),
                    ('2026-11-30 10:00:00Z', now(), 'st-mary', 'bed-1', 'ox-1', 'spo2', 97, 0),
                    ('2026-11-30 10:00:01Z', now(), 'st-mary', 'bed-1', 'mon-1', 'nibp_systolic', 400, 4),
                    ('2026-11-30 10:00:01Z', now(), 'st-mary', 'bed-1', 'mon-1', 'body_temperature', 37.2, 0),
                    ('2026-11-30 10:00:01Z', now(), 'st-mary', 'bed-1', 'fr-1', 'fridge_temperature', 4, 0)",
        )
        .await
        .unwrap();
    env.user("st-mary", "ann", &[Role::Nurse]).await;
    env.user("st-mary", "root", &[Role::Administrator]).await;
    let ann = env.login("st-mary", "ann").await;
    let (status, bundle) = env
        .call(
            Method::GET,
            "/fhir/R4/Observation?bed=bed-1",
            Some(&ann),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{bundle}");
    assert_eq!(
        validate(&bundle),
        "ok 4 Observation",
        "the fridge is no vital sign"
    );
    let hr = &bundle["entry"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["resource"]["code"]["text"] == "heart_rate")
        .unwrap()["resource"];
    assert_eq!(hr["code"]["coding"][0]["code"], "8867-4");
    assert_eq!(
        hr["code"]["coding"][1]["system"],
        "urn:iso:std:iso:11073:10101"
    );
    assert_eq!(hr["valueQuantity"]["system"], "http://unitsofmeasure.org");
    assert_eq!(hr["valueQuantity"]["code"], "/min");
    assert_eq!(hr["effectiveDateTime"], "2026-11-30T10:00:00.123456Z");

    let (_, spo2) = env
        .call(
            Method::GET,
            "/fhir/R4/Observation?bed=bed-1&code=http://loinc.org|59408-5&date=ge2026-11-30T00:00:00Z&_count=1",
            Some(&ann),
            None,
        )
        .await;
    assert_eq!(validate(&spo2), "ok 1 Observation");
    assert_eq!(spo2["entry"][0]["resource"]["valueQuantity"]["code"], "%");

    // By patient: admitted late to bed-1, the samples are theirs, with the
    // vital-signs profiles declared.
    let (status, p) = env
        .call(
            Method::POST,
            "/api/v1/patients",
            Some(&ann),
            Some(json!({"mrn": "MRN-9", "name": "Pat", "birth_date": "1950-05-05"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{p}");
    let pid = p["id"].as_str().unwrap().to_owned();
    let (status, _) = env
        .call(
            Method::POST,
            &format!("/api/v1/patients/{pid}/admissions"),
            Some(&ann),
            Some(json!({"bed_id": "bed-1", "admitted_at": "2026-11-30T09:00:00Z"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, by_patient) = env
        .call(
            Method::GET,
            &format!("/fhir/R4/Observation?patient=Patient/{pid}"),
            Some(&ann),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{by_patient}");
    assert_eq!(validate(&by_patient), "ok 4 Observation");
    let entries = by_patient["entry"].as_array().unwrap();
    assert!(entries
        .iter()
        .all(|e| e["resource"]["subject"]["reference"] == format!("Patient/{pid}")));
    let hr = &entries
        .iter()
        .find(|e| e["resource"]["code"]["text"] == "heart_rate")
        .unwrap()["resource"];
    assert_eq!(
        hr["meta"]["profile"],
        json!([
            "http://hl7.org/fhir/StructureDefinition/vitalsigns",
            "http://hl7.org/fhir/StructureDefinition/heartrate"
        ])
    );
    assert!(
        bundle["entry"][0]["resource"].get("meta").is_none(),
        "by bed the subject is no Patient"
    );

    // Read by the stable id: the same resource, valid on its own.
    let id = hr["id"].as_str().unwrap();
    let (status, read) = env
        .call(
            Method::GET,
            &format!("/fhir/R4/Observation/{id}"),
            Some(&ann),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{read}");
    assert_eq!(&read, hr);
    let single = json!({"resourceType": "Bundle", "type": "collection",
                        "entry": [{"fullUrl": format!("urn:uuid:{}", "0".repeat(8) + "-0000-0000-0000-" + &"0".repeat(12)), "resource": read}]});
    assert_eq!(validate(&single), "ok 1 Observation");
    for missing in [
        id.replace("heart-rate", "spo2"),
        "heart-rate.1.0123456789abcdef".to_owned(),
        "not-an-id".to_owned(),
    ] {
        let (status, _) = env
            .call(
                Method::GET,
                &format!("/fhir/R4/Observation/{missing}"),
                Some(&ann),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{missing}");
    }

    // Errors under /fhir/ are OperationOutcomes, valid FHIR, one issue per
    // bad search parameter, the stable problem code kept.
    let (status, bad) = env
        .call(
            Method::GET,
            "/fhir/R4/Observation?bed=bed-1&_count=0&colour=red",
            Some(&ann),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
    assert_eq!(bad["resourceType"], "OperationOutcome", "{bad}");
    assert_eq!(crate::support::code(&bad), "validation_failed");
    let diagnostics: Vec<&str> = bad["issue"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["diagnostics"].as_str().unwrap())
        .collect();
    assert!(
        diagnostics[0].starts_with("_count: ") && diagnostics[1].starts_with("colour: "),
        "{bad}"
    );
    let (status, missing) = env
        .call(
            Method::GET,
            "/fhir/R4/Observation/not-an-id",
            Some(&ann),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(missing["issue"][0]["code"], "not-found", "{missing}");
    let (status, anonymous) = env
        .call(Method::GET, "/fhir/R4/Observation?bed=bed-1", None, None)
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(anonymous["issue"][0]["code"], "login", "{anonymous}");
    let outcomes: Vec<Value> = [&bad, &missing, &anonymous]
        .iter()
        .enumerate()
        .map(|(i, o)| json!({"fullUrl": format!("urn:uuid:00000000-0000-0000-0000-00000000000{i}"), "resource": o}))
        .collect();
    let outcomes = json!({"resourceType": "Bundle", "type": "collection", "entry": outcomes});
    assert_eq!(validate(&outcomes), "ok 3 OperationOutcome");
    // The rest of the API keeps problem details.
    let (_, problem) = env
        .call(
            Method::GET,
            "/api/v1/beds/bed-1/vitals?limit=0",
            Some(&ann),
            None,
        )
        .await;
    assert_eq!(problem["code"], "validation_failed", "{problem}");

    let root = env.login("st-mary", "root").await;
    let (status, audit) = env
        .call(
            Method::GET,
            "/api/v1/audit/fhir?limit=200",
            Some(&root),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let checked = validate(&audit);
    assert!(
        checked.starts_with("ok ") && checked.ends_with(" AuditEvent"),
        "{checked}"
    );
    env.done().await;
}
