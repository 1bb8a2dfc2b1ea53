//! Patients and admissions: PHI sealed at rest, lookup by MRN through the
//! keyed hash, every read audited, overlapping admissions refused, tenant
//! isolation, and the roles that may register, admit and read.

use axum::http::{Method, StatusCode};
use dashboard_api::roles::Role;
use serde_json::json;

use crate::support::{cheap_config, code, env};

#[tokio::test]
async fn patients_are_sealed_audited_admitted_and_discharged() {
    let Some(env) = env("patients_flow", cheap_config()).await else {
        return;
    };
    env.user("st-mary", "desk", &[Role::FrontDesk]).await;
    env.user("st-mary", "doc", &[Role::Physician]).await;
    env.user("st-mary", "bill", &[Role::BillingClerk]).await;
    env.user("st-mary", "engineer", &[Role::BiomedicalEngineer])
        .await;
    env.user("st-john", "john-nurse", &[Role::Nurse]).await;
    let desk = env.login("st-mary", "desk").await;
    let doc = env.login("st-mary", "doc").await;
    let bill = env.login("st-mary", "bill").await;
    let engineer = env.login("st-mary", "engineer").await;
    let john = env.login("st-john", "john-nurse").await;

    let ann = json!({"mrn": "MRN-0042", "name": "Ann Example", "birth_date": "1961-07-14"});
    let (status, p) = env
        .call(
            Method::POST,
            "/api/v1/patients",
            Some(&desk),
            Some(ann.clone()),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{p}");
    assert_eq!((&p["mrn"], &p["name"]), (&ann["mrn"], &ann["name"]));
    let id = p["id"].as_str().unwrap().to_owned();

    // Nothing readable at rest: not the MRN, name or birth date.
    let row = env
        .owner
        .query_one(
            "SELECT mrn_hash, mrn_sealed, name_sealed, birth_sealed FROM patients WHERE id = $1",
            &[&id],
        )
        .await
        .unwrap();
    for col in 0..4 {
        let bytes: Vec<u8> = row.get(col);
        let text = String::from_utf8_lossy(&bytes);
        for plain in ["MRN-0042", "Ann Example", "1961-07-14"] {
            assert!(!text.contains(plain), "column {col} holds {plain}");
        }
    }

    // The MRN is unique per site; every bad field is named at once.
    let (status, b) = env
        .call(
            Method::POST,
            "/api/v1/patients",
            Some(&desk),
            Some(ann.clone()),
        )
        .await;
    assert_eq!((status, code(&b)), (StatusCode::CONFLICT, "conflict"));
    let (status, b) = env
        .call(
            Method::POST,
            "/api/v1/patients",
            Some(&desk),
            Some(json!({"mrn": "a b", "name": "", "birth_date": "1961-02-30"})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let fields: Vec<&str> = b["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["mrn", "name", "birth_date"]);
    // The same MRN at another site is another patient.
    let (status, _) = env
        .call(
            Method::POST,
            "/api/v1/patients",
            Some(&john),
            Some(ann.clone()),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);

    // Reads decrypt; lookup by MRN finds exactly the patient.
    let url = format!("/api/v1/patients/{id}");
    let (status, b) = env.call(Method::GET, &url, Some(&doc), None).await;
    assert_eq!(
        (status, &b["birth_date"]),
        (StatusCode::OK, &json!("1961-07-14"))
    );
    let (status, b) = env
        .call(
            Method::GET,
            "/api/v1/patients?mrn=MRN-0042",
            Some(&bill),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{b}");
    assert_eq!(b["items"].as_array().unwrap().len(), 1);
    assert_eq!(b["items"][0]["id"], json!(id));
    let (_, b) = env
        .call(
            Method::GET,
            "/api/v1/patients?mrn=MRN-0043",
            Some(&doc),
            None,
        )
        .await;
    assert_eq!(b["items"], json!([]));
    // Engineers see no patients; another site cannot find this one.
    let (status, _) = env.call(Method::GET, &url, Some(&engineer), None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = env.call(Method::GET, &url, Some(&john), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Each read names the patient in the audit log.
    let reads: i64 = env
        .owner
        .query_one(
            "SELECT count(*) FROM audit_log WHERE patient_id = $1 AND action = 'R'
             AND event IN ('patient.read', 'patient.list')",
            &[&id],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(reads, 2);

    // A late admission; an overlapping one of the same bed is refused.
    let admissions = format!("{url}/admissions");
    let (status, a) = env
        .call(
            Method::POST,
            &admissions,
            Some(&desk),
            Some(json!({"bed_id": "bed-7", "admitted_at": "2026-01-01T08:00:00Z"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{a}");
    assert!(a.get("discharged_at").is_none());
    let (status, bob) = env
        .call(
            Method::POST,
            "/api/v1/patients",
            Some(&desk),
            Some(json!({"mrn": "MRN-7", "name": "Bob", "birth_date": "1990-01-01"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let bob_adm = format!(
        "/api/v1/patients/{}/admissions",
        bob["id"].as_str().unwrap()
    );
    let (status, b) = env
        .call(
            Method::POST,
            &bob_adm,
            Some(&desk),
            Some(json!({"bed_id": "bed-7"})),
        )
        .await;
    assert_eq!(
        (status, code(&b)),
        (StatusCode::CONFLICT, "conflict"),
        "{b}"
    );
    // Physicians read admissions but do not record them.
    let (status, _) = env
        .call(
            Method::POST,
            &bob_adm,
            Some(&doc),
            Some(json!({"bed_id": "bed-8"})),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // Another site cannot discharge it, by crafting its id.
    let discharge = format!("/api/v1/admissions/{}/discharge", a["id"].as_str().unwrap());
    let (status, _) = env
        .call(Method::POST, &discharge, Some(&john), Some(json!({})))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, b) = env
        .call(
            Method::POST,
            &discharge,
            Some(&desk),
            Some(json!({"discharged_at": "2025-12-31T00:00:00Z"})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{b}");
    let (status, b) = env
        .call(
            Method::POST,
            &discharge,
            Some(&desk),
            Some(json!({"discharged_at": "2026-01-03T08:00:00Z"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{b}");
    assert_eq!(b["discharged_at"], "2026-01-03T08:00:00.000000Z");
    let (status, _) = env
        .call(Method::POST, &discharge, Some(&desk), Some(json!({})))
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    // The bed is free again; Bob takes it.
    let (status, b) = env
        .call(
            Method::POST,
            &bob_adm,
            Some(&desk),
            Some(json!({"bed_id": "bed-7"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{b}");
    let (status, b) = env.call(Method::GET, &admissions, Some(&bill), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(b.as_array().unwrap().len(), 1);
    assert_eq!(b[0]["bed_id"], "bed-7");
    env.done().await;
}
