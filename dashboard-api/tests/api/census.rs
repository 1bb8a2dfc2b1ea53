//! Alerting follows the admissions recorded through the API: loaded at
//! start, then each admission and discharge as it commits.

use std::sync::Arc;
use std::time::Duration;

use alerting::engine::EngineConfig;
use alerting::notice::LiveEvent;
use alerting::runtime::RuntimeConfig;
use axum::http::{Method, StatusCode};
use dashboard_api::api::alarms::Alerting;
use dashboard_api::api::census;
use dashboard_api::roles::Role;
use serde_json::{json, Value};
use tokio::sync::broadcast;

use crate::support::{alerting_runtime_with, call, cheap_config, env};

/// Waits for the `unmonitored` alarm event `name` and returns its bed.
async fn unmonitored(rx: &mut broadcast::Receiver<Arc<LiveEvent>>, name: &str) -> String {
    let wait = async {
        loop {
            let ev = rx.recv().await.unwrap();
            if let Some(n) = ev.alarm().filter(|n| n.rule.as_ref() == "unmonitored") {
                if ev.name() == name {
                    return n.bed.to_string();
                }
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(10), wait)
        .await
        .unwrap_or_else(|_| panic!("no {name} of an unmonitored bed"))
}

async fn admit(router: &axum::Router, token: &str, mrn: &str, bed: &str) -> Value {
    let (status, p) = call(
        router,
        Method::POST,
        "/api/v1/patients",
        Some(token),
        Some(json!({"mrn": mrn, "name": "P", "birth_date": "1950-01-01"})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{p}");
    let (status, a) = call(
        router,
        Method::POST,
        &format!("/api/v1/patients/{}/admissions", p["id"].as_str().unwrap()),
        Some(token),
        Some(json!({"bed_id": bed})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{a}");
    a
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alerting_learns_admissions_at_start_and_as_they_change() {
    let Some(env) = env("census", cheap_config()).await else {
        return;
    };
    env.user("st-mary", "ann", &[Role::Nurse]).await;
    env.user("st-john", "jo", &[Role::Nurse]).await;
    let ann = env.login("st-mary", "ann").await;
    let jo = env.login("st-john", "jo").await;
    // Recorded before this runtime starts: one here, one at another site.
    admit(&env.router, &ann, "M1", "bed-1").await;
    admit(&env.router, &jo, "J1", "bed-9").await;

    let mut engine = EngineConfig::new("st-mary", "census");
    engine.technical.unmonitored_after = Duration::from_millis(200);
    let config = RuntimeConfig {
        tick: Duration::from_millis(50),
        ..RuntimeConfig::new(engine)
    };
    let (handle, _stop) = alerting_runtime_with(&env.live, config);
    let mut events = handle.subscribe();
    let state = env
        .state
        .clone()
        .with_alerting(Alerting::new("st-mary", handle.clone()));
    assert_eq!(census::restore(&state).await, 1, "St John's is not ours");
    assert_eq!(unmonitored(&mut events, "alarm:raised").await, "bed-1");

    // Through the API: admitted, the bed must send data; discharged, the
    // alarm ends.
    let router = dashboard_api::app(state);
    let a = admit(&router, &ann, "M2", "bed-2").await;
    assert_eq!(unmonitored(&mut events, "alarm:raised").await, "bed-2");
    let (status, b) = call(
        &router,
        Method::POST,
        &format!("/api/v1/admissions/{}/discharge", a["id"].as_str().unwrap()),
        Some(&ann),
        Some(json!({})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{b}");
    assert_eq!(unmonitored(&mut events, "alarm:resolved").await, "bed-2");
    env.done().await;
}
