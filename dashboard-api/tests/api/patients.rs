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

/// Registers a patient as `token` and returns their id.
async fn register(env: &crate::support::Env, token: &str, mrn: &str) -> String {
    let (status, p) = env
        .call(
            Method::POST,
            "/api/v1/patients",
            Some(token),
            Some(json!({"mrn": mrn, "name": "Pat", "birth_date": "1970-01-01"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{p}");
    p["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_patients_vitals_are_the_beds_samples_within_their_admissions() {
    let Some(env) = env("patient_vitals", cheap_config()).await else {
        return;
    };
    // One sample a minute from 10:00 to 10:59 on bed-1 and bed-2, and on
    // st-john's bed-1.
    env.owner
        .batch_execute(
            "INSERT INTO vitals (time, received_at, tenant_id, bed_id, device_id, metric, value)
             SELECT t, t, tenant, bed, 'mon', 'heart_rate', extract(minute FROM t)
             FROM generate_series('2026-11-30 10:00Z'::timestamptz, '2026-11-30 10:59Z', '1 minute') AS t,
                  (VALUES ('st-mary', 'bed-1'), ('st-mary', 'bed-2'), ('st-john', 'bed-1')) AS b(tenant, bed)",
        )
        .await
        .unwrap();
    env.user("st-mary", "nurse", &[Role::Nurse]).await;
    env.user("st-mary", "desk", &[Role::FrontDesk]).await;
    let nurse = env.login("st-mary", "nurse").await;
    let desk = env.login("st-mary", "desk").await;
    let id = register(&env, &nurse, "MRN-1").await;

    // Admitted late to bed-1 at 10:10, moved to bed-2 at 10:30, still there.
    let adm = format!("/api/v1/patients/{id}/admissions");
    let (_, a) = env
        .call(
            Method::POST,
            &adm,
            Some(&nurse),
            Some(json!({"bed_id": "bed-1", "admitted_at": "2026-11-30T10:10:00Z"})),
        )
        .await;
    let discharge = format!("/api/v1/admissions/{}/discharge", a["id"].as_str().unwrap());
    let (status, _) = env
        .call(
            Method::POST,
            &discharge,
            Some(&nurse),
            Some(json!({"discharged_at": "2026-11-30T10:20:00Z"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = env
        .call(
            Method::POST,
            &adm,
            Some(&nurse),
            Some(json!({"bed_id": "bed-2", "admitted_at": "2026-11-30T10:30:00Z"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);

    let range = "from=2026-11-30T10:00:00Z&to=2026-11-30T11:00:00Z";
    let (status, page) = env
        .call(
            Method::GET,
            &format!("/api/v1/patients/{id}/vitals?{range}"),
            Some(&nurse),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let minutes: Vec<f64> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["value"].as_f64().unwrap())
        .collect();
    let expected: Vec<f64> = (10..20).chain(30..60).map(f64::from).collect();
    assert_eq!(
        minutes, expected,
        "bed-1 10:10-10:20, then bed-2 from 10:30"
    );

    let (_, buckets) = env
        .call(
            Method::GET,
            &format!("/api/v1/patients/{id}/vitals/aggregate?{range}&bucket_secs=1800"),
            Some(&nurse),
            None,
        )
        .await;
    let counts: Vec<(f64, i64)> = buckets
        .as_array()
        .unwrap()
        .iter()
        .map(|b| (b["min"].as_f64().unwrap(), b["count"].as_i64().unwrap()))
        .collect();
    assert_eq!(counts, [(10.0, 10), (30.0, 30)]);

    // Now: bed-1 (left) has a newer sample than bed-2 (current); the
    // patient's latest is bed-2's.
    env.owner
        .batch_execute(
            "INSERT INTO vitals (time, received_at, tenant_id, bed_id, device_id, metric, value)
             VALUES (now() - interval '2 minutes', now(), 'st-mary', 'bed-2', 'mon', 'heart_rate', 61),
                    (now() - interval '1 minute', now(), 'st-mary', 'bed-1', 'mon', 'heart_rate', 99)",
        )
        .await
        .unwrap();
    let (status, latest) = env
        .call(
            Method::GET,
            &format!("/api/v1/patients/{id}/vitals/latest"),
            Some(&nurse),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{latest}");
    assert_eq!(latest.as_array().unwrap().len(), 1, "{latest}");
    assert_eq!(latest[0]["value"], 61.0);

    // Reads are audited against the patient; front desk may not read vitals;
    // an unknown patient is 404.
    let audited: i64 = env
        .owner
        .query_one(
            "SELECT count(*) FROM audit_log WHERE patient_id = $1 AND event LIKE 'vitals.%'",
            &[&id],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(audited, 3);
    let (status, _) = env
        .call(
            Method::GET,
            &format!("/api/v1/patients/{id}/vitals?{range}"),
            Some(&desk),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = env
        .call(
            Method::GET,
            &format!("/api/v1/patients/{}/vitals?{range}", "0".repeat(32)),
            Some(&nurse),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    env.done().await;
}

#[tokio::test]
async fn another_sites_patients_and_their_vitals_are_out_of_reach() {
    let Some(env) = env("patient_tenancy", cheap_config()).await else {
        return;
    };
    env.owner
        .batch_execute(
            "INSERT INTO vitals (time, received_at, tenant_id, bed_id, device_id, metric, value)
             VALUES (now() - interval '1 minute', now(), 'st-mary', 'bed-1', 'mon', 'heart_rate', 72),
                    (now() - interval '1 minute', now(), 'st-john', 'bed-1', 'mon', 'heart_rate', 140)",
        )
        .await
        .unwrap();
    env.user("st-mary", "ann", &[Role::Nurse]).await;
    env.user("st-john", "jo", &[Role::Nurse]).await;
    let ann = env.login("st-mary", "ann").await;
    let jo = env.login("st-john", "jo").await;
    let mary_patient = register(&env, &ann, "M-1").await;
    let john_patient = register(&env, &jo, "J-1").await;
    // Both sites admit to a bed called bed-1: no conflict across sites.
    for (token, id) in [(&ann, &mary_patient), (&jo, &john_patient)] {
        let (status, b) = env
            .call(
                Method::POST,
                &format!("/api/v1/patients/{id}/admissions"),
                Some(token),
                Some(json!({"bed_id": "bed-1", "admitted_at": "2026-01-01T00:00:00Z"})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{b}");
    }
    // Each site's patient has only that site's bed-1 samples.
    let (_, latest) = env
        .call(
            Method::GET,
            &format!("/api/v1/patients/{john_patient}/vitals/latest"),
            Some(&jo),
            None,
        )
        .await;
    assert_eq!(latest[0]["value"], 140.0, "{latest}");
    assert_eq!(latest.as_array().unwrap().len(), 1);

    // St John's nurse, crafting St Mary's identifiers, gets nothing.
    for uri in [
        format!("/api/v1/patients/{mary_patient}"),
        format!("/api/v1/patients/{mary_patient}/admissions"),
        format!("/api/v1/patients/{mary_patient}/vitals/latest"),
    ] {
        let (status, _) = env.call(Method::GET, &uri, Some(&jo), None).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{uri}");
    }
    let (_, list) = env
        .call(Method::GET, "/api/v1/patients?mrn=M-1", Some(&jo), None)
        .await;
    assert_eq!(list["items"], json!([]));
    let (status, bundle) = env
        .call(
            Method::GET,
            &format!("/fhir/R4/Observation?patient={mary_patient}"),
            Some(&jo),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(bundle["entry"], json!([]));
    let (_, mary_bundle) = env
        .call(
            Method::GET,
            &format!("/fhir/R4/Observation?patient={mary_patient}"),
            Some(&ann),
            None,
        )
        .await;
    let obs_id = mary_bundle["entry"][0]["resource"]["id"].as_str().unwrap();
    let (status, _) = env
        .call(
            Method::GET,
            &format!("/fhir/R4/Observation/{obs_id}"),
            Some(&jo),
            None,
        )
        .await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "an observation id of St Mary"
    );

    // Under the API role with St John's tenant, a query without WHERE sees
    // only St John's patients and admissions.
    let mut conn = env.core.pool.get().await.unwrap();
    let tx = dashboard_api::db::begin_tenant(conn.client(), &crate::support::tenant("st-john"))
        .await
        .unwrap();
    for table in ["patients", "admissions"] {
        let ids: Vec<String> = tx
            .query(&format!("SELECT DISTINCT tenant_id FROM {table}"), &[])
            .await
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
        assert_eq!(ids, ["st-john"], "{table}");
    }
    // And cannot remove a patient (no DELETE grant).
    assert!(tx.execute("DELETE FROM patients", &[]).await.is_err());
    drop(tx);
    drop(conn);
    env.done().await;
}
