//! Device administration: devices with health, statuses, profiles, upload
//! and reload, for biomedical engineers.

use std::time::SystemTime;

use axum::http::{Method, StatusCode};
use dashboard_api::roles::Role;
use firmware_adapters::health::{AdapterHealth, AdapterMetrics, ConnectionState};
use firmware_adapters::modbus::{StatusData, StatusValue};
use serde_json::{json, Value};

use crate::support::{cheap_config, code, env, Env};

const FRIDGE: &str = "name = \"site-fridge\"\nsilence_timeout_ms = 60000\n\n\
    [modbus]\npoll_interval_ms = 1000\ntimeout_ms = 500\n\n\
    [[modbus.values]]\ntable = \"input_register\"\naddress = 0\ntype = \"i16\"\n\
    metric = \"ambient_temperature\"\nunit = \"Cel\"\n";

async fn signed_in(env: &Env, role: Role) -> String {
    let name = format!("dev-{}", role.as_str().replace('_', "-"));
    env.user("st-mary", &name, &[role]).await;
    env.login("st-mary", &name).await
}

fn fields(body: &Value) -> Vec<&str> {
    body["errors"]
        .as_array()
        .map(|a| a.iter().filter_map(|e| e["field"].as_str()).collect())
        .unwrap_or_default()
}

async fn audit_rows(env: &Env, event: &str) -> Vec<(String, Option<String>, i16)> {
    env.owner
        .query(
            "SELECT actor_name, entity_id, outcome FROM audit_log WHERE event = $1 ORDER BY seq",
            &[&event],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect()
}

#[tokio::test]
async fn devices_show_profile_bed_protocol_health_and_statuses() {
    let Some(env) = env("devices_list", cheap_config()).await else {
        return;
    };
    let engineer = signed_in(&env, Role::BiomedicalEngineer).await;
    let charge = signed_in(&env, Role::ChargeNurse).await;
    let nurse = signed_in(&env, Role::Nurse).await;
    let h = AdapterHealth::new(
        "modbus_tcp",
        "fridge-01",
        AdapterMetrics::unregistered(),
        env.devices.health.clone(),
    );
    h.set_state(ConnectionState::Connected);
    h.readings(3, SystemTime::now());
    h.error("timeout", "no answer within 500 ms");
    // A device that reports health without a [[device]] entry (HL7).
    let _hl7 = AdapterHealth::new(
        "hl7",
        "vent-07",
        AdapterMetrics::unregistered(),
        env.devices.health.clone(),
    );
    env.devices.status.update(
        "fridge-01",
        vec![
            StatusValue {
                name: "door_open".into(),
                value: StatusData::Flag(true),
                unit: None,
                alarm: None,
            },
            StatusValue {
                name: "serial".into(),
                value: StatusData::Text("VF-123".into()),
                unit: None,
                alarm: None,
            },
        ],
    );

    let (status, body) = env
        .call(Method::GET, "/api/v1/devices", Some(&engineer), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let fridge = &body[0];
    assert_eq!(fridge["device_id"], "fridge-01");
    assert_eq!(fridge["bed_id"], "pharmacy");
    assert_eq!(fridge["profile"], "vaccine-fridge");
    assert_eq!(fridge["protocol"], "modbus");
    let health = &fridge["health"];
    assert_eq!(health["state"], "connected");
    assert_eq!(
        (health["readings"].as_u64(), health["errors"].as_u64()),
        (Some(3), Some(1))
    );
    assert!(
        health["last_reading"].as_str().unwrap().ends_with('Z'),
        "{health}"
    );
    assert!(
        health["last_error"].as_str().unwrap().contains("no answer"),
        "{health}"
    );
    assert_eq!(body[1]["device_id"], "vent-07");
    assert_eq!(body[1]["profile"], Value::Null);
    assert_eq!(body[1]["health"]["state"], "connecting");

    let (status, body) = env
        .call(Method::GET, "/api/v1/devices/statuses", Some(&charge), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["fridge-01"]["door_open"]["value"], true);
    assert_eq!(body["fridge-01"]["serial"]["value"], "VF-123");

    for uri in [
        "/api/v1/devices",
        "/api/v1/devices/statuses",
        "/api/v1/device-profiles",
    ] {
        let (status, body) = env.call(Method::GET, uri, Some(&nurse), None).await;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::FORBIDDEN, "forbidden"),
            "{uri}"
        );
    }
    env.done().await;
}

#[tokio::test]
async fn validation_names_every_problem_by_key_path_and_changes_nothing() {
    let Some(env) = env("devices_validate", cheap_config()).await else {
        return;
    };
    let engineer = signed_in(&env, Role::BiomedicalEngineer).await;
    let bad = "name = \"has space\"\nsilence_timeout_ms = 0\n\n[modbus]\n\
               poll_interval_ms = 1000\ntimeout_ms = 500\n\n[[modbus.values]]\n\
               table = \"input_register\"\naddress = 0\ntype = \"i16\"\n\
               metric = \"ambient_temperature\"\nunit = \"Cel\"\nbogus = 1\n";
    let (status, body) = env
        .call(
            Method::POST,
            "/api/v1/device-profiles/validate",
            Some(&engineer),
            Some(json!({"toml": bad})),
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNPROCESSABLE_ENTITY, "invalid_profile"),
        "{body}"
    );
    let f = fields(&body);
    assert!(f.iter().any(|p| p.starts_with("modbus.values")), "{body}");
    // Unknown keys are reported by the parse step; the rest by validation.
    let (_, body) = env
        .call(
            Method::POST,
            "/api/v1/device-profiles/validate",
            Some(&engineer),
            Some(json!({"toml": bad.replace("bogus = 1\n", "")})),
        )
        .await;
    let f = fields(&body);
    assert!(
        f.contains(&"name") && f.contains(&"silence_timeout_ms"),
        "{body}"
    );

    let (status, body) = env
        .call(
            Method::POST,
            "/api/v1/device-profiles/validate",
            Some(&engineer),
            Some(json!({"toml": "name = [unclosed"})),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["errors"].as_array().map(Vec::len), Some(1), "{body}");

    let (status, body) = env
        .call(
            Method::POST,
            "/api/v1/device-profiles/validate",
            Some(&engineer),
            Some(json!({"toml": FRIDGE})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body, json!({"name": "site-fridge", "protocol": "modbus"}));
    assert_eq!(
        std::fs::read_dir(env.devices.site.path()).unwrap().count(),
        0
    );

    let charge = signed_in(&env, Role::ChargeNurse).await;
    let (status, _) = env
        .call(
            Method::POST,
            "/api/v1/device-profiles/validate",
            Some(&charge),
            Some(json!({"toml": FRIDGE})),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    env.done().await;
}

async fn upload(env: &Env, token: &str, file_name: &str, toml: &str) -> (StatusCode, Value) {
    env.call(
        Method::POST,
        "/api/v1/device-profiles",
        Some(token),
        Some(json!({"file_name": file_name, "toml": toml})),
    )
    .await
}

async fn profile_names(env: &Env, token: &str) -> Vec<(String, bool)> {
    let (status, body) = env
        .call(Method::GET, "/api/v1/device-profiles", Some(token), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body.as_array()
        .unwrap()
        .iter()
        .map(|p| (p["name"].as_str().unwrap().to_owned(), p["site"] == true))
        .collect()
}

#[tokio::test]
async fn upload_writes_the_site_folder_is_audited_and_applies_at_reload() {
    let Some(env) = env("devices_upload", cheap_config()).await else {
        return;
    };
    let who = env
        .user("st-mary", "engineer", &[Role::BiomedicalEngineer])
        .await;
    let engineer = env.login("st-mary", "engineer").await;
    let site = env.devices.site.path().to_owned();
    let before = profile_names(&env, &engineer).await;
    assert!(
        before.contains(&("vaccine-fridge".to_owned(), false)),
        "{before:?}"
    );

    // Names that would leave the folder (a parent step, an absolute path),
    // a hidden file, a file that is not TOML, and invalid profiles: nothing
    // is written.
    for name in [
        "../escape.toml",
        "/absolute/x.toml",
        ".hidden.toml",
        "x.txt",
    ] {
        let (status, body) = upload(&env, &engineer, name, FRIDGE).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{name}: {body}");
        assert_eq!(fields(&body), ["file_name"], "{body}");
    }
    let (status, body) = upload(&env, &engineer, "fridge.toml", "name = \"x\"\n").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(!fields(&body).is_empty());
    assert_eq!(std::fs::read_dir(&site).unwrap().count(), 0);
    assert!(!site.parent().unwrap().join("escape.toml").exists());

    let (status, body) = upload(&env, &engineer, "fridge.toml", FRIDGE).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["replaced"], false);
    assert_eq!(
        std::fs::read_to_string(site.join("fridge.toml")).unwrap(),
        FRIDGE
    );
    // Written, not yet loaded.
    assert_eq!(profile_names(&env, &engineer).await, before);

    let (status, body) = env
        .call(
            Method::POST,
            "/api/v1/devices/reload",
            Some(&engineer),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["applied"], true, "{body}");
    assert_eq!(body["profiles"].as_u64(), Some(before.len() as u64 + 1));
    let after = profile_names(&env, &engineer).await;
    assert!(
        after.contains(&("site-fridge".to_owned(), true)),
        "{after:?}"
    );

    // Same file again: replaced. Same profile under another file: refused,
    // since the next reload would see the name twice in one folder.
    let (status, body) = upload(&env, &engineer, "fridge.toml", FRIDGE).await;
    assert_eq!(
        (status, body["replaced"].clone()),
        (StatusCode::OK, json!(true))
    );
    let (status, body) = upload(&env, &engineer, "fridge-2.toml", FRIDGE).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::CONFLICT, "conflict"),
        "{body}"
    );
    assert!(!site.join("fridge-2.toml").exists());

    // A broken file put there by hand: the reload is refused with the
    // problem and the loaded profiles stay.
    std::fs::write(site.join("broken.toml"), "name = \"broken\"\n").unwrap();
    let (status, body) = env
        .call(
            Method::POST,
            "/api/v1/devices/reload",
            Some(&engineer),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["applied"], false, "{body}");
    let problems = body["problems"].as_array().unwrap();
    assert!(
        problems
            .iter()
            .any(|p| p.as_str().unwrap().contains("broken.toml")),
        "{body}"
    );
    assert_eq!(profile_names(&env, &engineer).await, after);

    let uploads = audit_rows(&env, "device_profile.upload").await;
    assert_eq!(
        uploads,
        vec![
            (who.clone(), Some("fridge.toml".to_owned()), 0),
            (who.clone(), Some("fridge.toml".to_owned()), 0),
        ]
    );
    let reloads = audit_rows(&env, "devices.reload").await;
    assert_eq!(reloads, vec![(who.clone(), None, 0), (who, None, 4)]);

    let charge = signed_in(&env, Role::ChargeNurse).await;
    let (status, _) = env
        .call(Method::POST, "/api/v1/devices/reload", Some(&charge), None)
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = upload(&env, &charge, "c.toml", FRIDGE).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    env.done().await;
}

#[tokio::test]
async fn another_sites_engineer_sees_and_changes_nothing() {
    let Some(env) = env("devices_tenant", cheap_config()).await else {
        return;
    };
    env.user("st-john", "john-eng", &[Role::BiomedicalEngineer])
        .await;
    let john = env.login("st-john", "john-eng").await;
    for uri in [
        "/api/v1/devices",
        "/api/v1/devices/statuses",
        "/api/v1/device-profiles",
    ] {
        let (status, body) = env.call(Method::GET, uri, Some(&john), None).await;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::FORBIDDEN, "forbidden"),
            "{uri}"
        );
    }
    let (status, _) = upload(&env, &john, "fridge.toml", FRIDGE).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = env
        .call(Method::POST, "/api/v1/devices/reload", Some(&john), None)
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(
        std::fs::read_dir(env.devices.site.path()).unwrap().count(),
        0
    );
    assert!(audit_rows(&env, "device_profile.upload").await.is_empty());
    assert!(audit_rows(&env, "devices.reload").await.is_empty());
    let refusals = audit_rows(&env, "access.denied").await;
    assert_eq!(refusals.len(), 5, "{refusals:?}");
    assert!(refusals
        .iter()
        .all(|(_, entity, outcome)| entity.as_deref() == Some("devices") && *outcome == 4));
    env.done().await;
}
