//! Live events over a WebSocket on a loopback socket: authentication,
//! subscriptions, tenant isolation, and a slow client dropped with a notice.

use std::sync::Arc;

use collector::{LiveBatch, Origin, Quality, Sample};
use dashboard_api::roles::Role;
use firmware_adapters::vocab::Metric;
use futures_util::{SinkExt as _, StreamExt as _};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::tungstenite::Message;

use crate::support::{cheap_config, env, Env};

pub(crate) type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

fn sample(tenant: &str, bed: &str, value: f64) -> Sample {
    Sample {
        time_us: 1_796_000_000_000_000,
        received_us: 1_796_000_000_000_000,
        origin: Origin::new(tenant, bed, "mon-1"),
        metric: Metric::HeartRate,
        value,
        quality: Quality::default(),
    }
}

pub(crate) async fn serve(env: &Env) -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let svc = env
        .router
        .clone()
        .into_make_service_with_connect_info::<std::net::SocketAddr>();
    tokio::spawn(async move { axum::serve(listener, svc).await });
    addr
}

pub(crate) async fn connect(
    addr: std::net::SocketAddr,
    token: Option<&str>,
) -> Result<Socket, u16> {
    let mut req = format!("ws://{addr}/api/v1/live")
        .into_client_request()
        .unwrap();
    if let Some(t) = token {
        req.headers_mut()
            .insert("authorization", format!("Bearer {t}").parse().unwrap());
    }
    match tokio_tungstenite::connect_async(req).await {
        Ok((ws, _)) => Ok(ws),
        Err(tokio_tungstenite::tungstenite::Error::Http(res)) => Err(res.status().as_u16()),
        Err(e) => panic!("connect: {e}"),
    }
}

pub(crate) async fn next_json(ws: &mut Socket) -> Value {
    loop {
        match ws.next().await.expect("a frame").expect("no error") {
            Message::Text(t) => return serde_json::from_str(t.as_str()).unwrap(),
            Message::Close(_) => return Value::Null,
            _ => {}
        }
    }
}

/// Publishes an event to `user` of `site` alone: when a client's next frame
/// is its marker, no event published before it reached that client.
pub(crate) fn marker(env: &Env, site: &str, user: &str) {
    env.core.events.publish(dashboard_api::events::ModuleEvent {
        tenant: crate::support::tenant(site),
        name: dashboard_api::events::EventName::StaffMessageNew,
        audience: dashboard_api::events::Audience::User(user.to_owned()),
        data: json!({"marker": user}),
    });
}

pub(crate) async fn send(ws: &mut Socket, v: Value) {
    ws.send(Message::Text(v.to_string().into())).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscribers_get_their_tenants_beds_and_slow_ones_are_dropped() {
    let Some(env) = env("live_events", cheap_config()).await else {
        return;
    };
    env.user("st-mary", "ann", &[Role::Nurse]).await;
    env.user("st-mary", "bill", &[Role::BillingClerk]).await;
    let ann = env.login("st-mary", "ann").await;
    let bill = env.login("st-mary", "bill").await;
    let addr = serve(&env).await;

    assert_eq!(connect(addr, None).await.err(), Some(401));
    // Every role connects (for the modules' events); following vitals needs
    // permission to read them.
    let mut billing = connect(addr, Some(&bill)).await.unwrap();
    send(&mut billing, json!({"subscribe": {"bed": "bed-1"}})).await;
    let refused = next_json(&mut billing).await;
    assert_eq!(refused["event"], "error", "role rules: {refused}");
    assert!(refused["detail"].as_str().unwrap().contains("vitals"));

    let mut ws = connect(addr, Some(&ann)).await.unwrap();
    send(&mut ws, json!({"subscribe": {"patient": "0".repeat(32)}})).await;
    assert_eq!(
        next_json(&mut ws).await["event"],
        "error",
        "no such patient"
    );
    send(
        &mut ws,
        json!({"subscribe": {"bed": "bed-1", "ward": "icu"}}),
    )
    .await;
    assert_eq!(next_json(&mut ws).await["event"], "error", "one topic");
    send(&mut ws, json!({"subscribe": {"bed": "bed-1"}})).await;
    assert_eq!(
        next_json(&mut ws).await,
        json!({"event": "subscribed", "detail": "bed-1"})
    );
    let batch: LiveBatch = Arc::from(vec![
        sample("st-john", "bed-1", 140.0),
        sample("st-mary", "bed-2", 50.0),
        sample("st-mary", "bed-1", 72.0),
    ]);
    env.live.send(batch).unwrap();
    let event = next_json(&mut ws).await;
    assert_eq!(event["event"], "patient:vitals:update");
    assert_eq!(event["bed"], "bed-1");
    let values: Vec<f64> = event["samples"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["value"].as_f64().unwrap())
        .collect();
    assert_eq!(values, [72.0], "only St Mary's bed 1: {event}");
    ws.close(None).await.unwrap();

    // A client that stops reading: the gateway keeps publishing, and the
    // client finds a notice and a closed socket when it looks again.
    let mut slow = connect(addr, Some(&ann)).await.unwrap();
    send(&mut slow, json!({"subscribe": {"bed": "bed-1"}})).await;
    assert_eq!(next_json(&mut slow).await["event"], "subscribed");
    let big: Vec<Sample> = (0..50)
        .map(|i| sample("st-mary", "bed-1", f64::from(i)))
        .collect();
    let big: LiveBatch = Arc::from(big);
    for _ in 0..3000 {
        env.live.send(Arc::clone(&big)).unwrap();
        tokio::task::yield_now().await;
    }
    let mut last = Value::Null;
    let mut updates = 0;
    loop {
        let v = next_json(&mut slow).await;
        if v.is_null() {
            break;
        }
        if v["event"] == "patient:vitals:update" {
            updates += 1;
        }
        last = v;
    }
    assert_eq!(last, json!({"event": "dropped", "reason": "slow_consumer"}));
    assert!(updates < 3000, "dropped before the end: {updates}");
    let subscriptions: i64 = env
        .owner
        .query_one(
            "SELECT count(*) FROM audit_log WHERE event = 'vitals.live.subscribe'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(subscriptions, 2);
    env.done().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn patients_and_wards_are_followed_through_current_admissions() {
    let Some(env) = env("live_patients", cheap_config()).await else {
        return;
    };
    env.user("st-mary", "ann", &[Role::Nurse]).await;
    env.user("st-john", "jo", &[Role::Nurse]).await;
    let ann = env.login("st-mary", "ann").await;
    let jo = env.login("st-john", "jo").await;
    let mut patients = Vec::new();
    for (mrn, bed) in [("M1", "bed-1"), ("M2", "bed-2")] {
        let (_, p) = env
            .call(
                axum::http::Method::POST,
                "/api/v1/patients",
                Some(&ann),
                Some(json!({"mrn": mrn, "name": "P", "birth_date": "1980-01-01"})),
            )
            .await;
        let id = p["id"].as_str().unwrap().to_owned();
        let (status, _) = env
            .call(
                axum::http::Method::POST,
                &format!("/api/v1/patients/{id}/admissions"),
                Some(&ann),
                Some(json!({"bed_id": bed, "ward_id": "icu"})),
            )
            .await;
        assert_eq!(status, axum::http::StatusCode::CREATED);
        patients.push(id);
    }
    let addr = serve(&env).await;

    // Another site's nurse cannot follow St Mary's patient by its id.
    let mut other = connect(addr, Some(&jo)).await.unwrap();
    send(&mut other, json!({"subscribe": {"patient": patients[0]}})).await;
    assert_eq!(next_json(&mut other).await["event"], "error");
    send(&mut other, json!({"subscribe": {"ward": "icu"}})).await;
    assert_eq!(next_json(&mut other).await["event"], "subscribed");

    let mut by_patient = connect(addr, Some(&ann)).await.unwrap();
    send(
        &mut by_patient,
        json!({"subscribe": {"patient": patients[1]}}),
    )
    .await;
    assert_eq!(next_json(&mut by_patient).await["event"], "subscribed");
    let mut by_ward = connect(addr, Some(&ann)).await.unwrap();
    send(&mut by_ward, json!({"subscribe": {"ward": "icu"}})).await;
    assert_eq!(next_json(&mut by_ward).await["event"], "subscribed");

    let batch: LiveBatch = Arc::from(vec![
        sample("st-mary", "bed-1", 61.0),
        sample("st-mary", "bed-2", 62.0),
        sample("st-mary", "bed-3", 63.0),
        sample("st-john", "bed-1", 99.0),
    ]);
    env.live.send(batch).unwrap();
    let e = next_json(&mut by_patient).await;
    assert_eq!(
        (&e["bed"], &e["patient"], &e["samples"][0]["value"]),
        (&json!("bed-2"), &json!(patients[1]), &json!(62.0))
    );
    let mut seen = Vec::new();
    for _ in 0..2 {
        let e = next_json(&mut by_ward).await;
        seen.push((e["bed"].clone(), e["patient"].clone()));
    }
    assert_eq!(
        seen,
        [
            (json!("bed-1"), json!(patients[0])),
            (json!("bed-2"), json!(patients[1]))
        ]
    );
    // St John's ward "icu" has nobody admitted: nothing of St Mary reaches
    // it, and its own unadmitted bed-1 is not followed either. The next
    // frame it sees is the reply to its next message.
    send(&mut other, json!({"unsubscribe": {"ward": "icu"}})).await;
    assert_eq!(next_json(&mut other).await["event"], "unsubscribed");

    // Each patient opened by the ward subscription is audited.
    let audited: i64 = env
        .owner
        .query_one(
            "SELECT count(DISTINCT patient_id) FROM audit_log
             WHERE event = 'vitals.live.subscribe' AND tenant_id = 'st-mary'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(audited, 2);
    env.done().await;
}

/// The next frame that is not a vitals update.
async fn next_alarm_frame(ws: &mut Socket) -> Value {
    loop {
        let v = next_json(ws).await;
        if v["event"] != "patient:vitals:update" {
            return v;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alarm_events_reach_subscribers_of_the_bed_only() {
    let Some(env) = env("live_alarms", cheap_config()).await else {
        return;
    };
    let nurse_id = env.user("st-mary", "cat", &[Role::Nurse]).await;
    let cat = env.login("st-mary", "cat").await;
    let addr = serve(&env).await;
    let mut ws = connect(addr, Some(&cat)).await.unwrap();
    send(&mut ws, json!({"subscribe": {"bed": "bed-1"}})).await;
    assert_eq!(next_json(&mut ws).await["event"], "subscribed");
    let desat = |bed: &str| Sample {
        metric: Metric::Spo2,
        value: 75.0,
        time_us: alerting::runtime::Clock::start().now().as_micros(),
        ..sample("st-mary", bed, 0.0)
    };
    // bed-2's alarm is raised first but nobody here follows bed-2.
    let batch: LiveBatch = Arc::from(vec![desat("bed-2"), desat("bed-1")]);
    env.live.send(batch).unwrap();
    let raised = next_alarm_frame(&mut ws).await;
    assert_eq!(raised["event"], "alarm:raised", "{raised}");
    assert_eq!(
        (&raised["data"]["bed"], &raised["data"]["rule"]),
        (&json!("bed-1"), &json!("spo2_desat"))
    );
    let (status, _) = env
        .call(
            axum::http::Method::POST,
            "/api/v1/beds/bed-1/alarms/spo2_desat/acknowledge",
            Some(&cat),
            None,
        )
        .await;
    assert_eq!(status, axum::http::StatusCode::OK);
    let updated = next_alarm_frame(&mut ws).await;
    assert_eq!(updated["event"], "alarm:updated", "{updated}");
    assert_eq!(updated["data"]["actor"], json!(nurse_id));
    assert_eq!(updated["data"]["bed"], "bed-1");
    env.done().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_exhausted_escalation_reaches_every_client_of_the_site() {
    let Some(env) = env("live_emergency", cheap_config()).await else {
        return;
    };
    let nurse_id = env.user("st-mary", "fay", &[Role::Nurse]).await;
    env.user("st-mary", "gus", &[Role::Nurse]).await;
    env.user("st-john", "hal", &[Role::Nurse]).await;
    let fay = env.login("st-mary", "fay").await;
    let gus = env.login("st-mary", "gus").await;
    let hal = env.login("st-john", "hal").await;
    // Fay is the only recipient: her decline exhausts the path.
    let (handle, _stop) = crate::support::alerting_runtime(&env.live, &[&nurse_id]);
    let router = dashboard_api::app(env.state.clone().with_alerting(
        dashboard_api::api::alarms::Alerting::new("st-mary", handle.clone()),
    ));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let svc = router
        .clone()
        .into_make_service_with_connect_info::<std::net::SocketAddr>();
    tokio::spawn(async move { axum::serve(listener, svc).await });

    // Gus follows another bed of the same site; Hal is at another site.
    let mut same_site = connect(addr, Some(&gus)).await.unwrap();
    send(&mut same_site, json!({"subscribe": {"bed": "bed-9"}})).await;
    assert_eq!(next_json(&mut same_site).await["event"], "subscribed");
    let mut other_site = connect(addr, Some(&hal)).await.unwrap();
    send(&mut other_site, json!({"subscribe": {"bed": "bed-1"}})).await;
    assert_eq!(next_json(&mut other_site).await["event"], "subscribed");

    let mut events = handle.subscribe();
    let desat = Sample {
        metric: Metric::Spo2,
        value: 75.0,
        time_us: alerting::runtime::Clock::start().now().as_micros(),
        ..sample("st-mary", "bed-1", 0.0)
    };
    env.live.send(Arc::from(vec![desat])).unwrap();
    // Wait until the alarm has been offered to Fay before she declines it.
    loop {
        let ev = events.recv().await.unwrap();
        if ev.alarm().is_some_and(|n| n.change == "escalation_offered") {
            break;
        }
    }
    let (status, body) = crate::support::call(
        &router,
        axum::http::Method::POST,
        "/api/v1/beds/bed-1/alarms/spo2_desat/decline",
        Some(&fay),
        None,
    )
    .await;
    assert_eq!(status, axum::http::StatusCode::OK, "{body}");

    // Bounded, so a missing broadcast fails instead of hanging.
    let broadcast = tokio::time::timeout(
        std::time::Duration::from_secs(10),
        next_alarm_frame(&mut same_site),
    )
    .await
    .expect("an emergency broadcast for a bed the client does not follow");
    assert_eq!(broadcast["event"], "emergency:broadcast", "{broadcast}");
    assert_eq!(broadcast["data"]["bed"], "bed-1");
    // Nothing of St Mary reached St John's client: its next frame answers
    // its next message.
    send(&mut other_site, json!({"unsubscribe": {"bed": "bed-1"}})).await;
    assert_eq!(next_json(&mut other_site).await["event"], "unsubscribed");
    env.done().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pharmacist_follows_vitals_only_under_break_the_glass() {
    let Some(env) = env("live_break_glass", cheap_config()).await else {
        return;
    };
    env.user("st-mary", "phil", &[Role::Pharmacist]).await;
    let phil = env.login("st-mary", "phil").await;
    let addr = serve(&env).await;

    let mut ws = connect(addr, Some(&phil)).await.unwrap();
    send(&mut ws, json!({"subscribe": {"bed": "bed-1"}})).await;
    assert_eq!(next_json(&mut ws).await["event"], "error");
    ws.close(None).await.unwrap();

    let (status, b) = env
        .call(
            axum::http::Method::POST,
            "/api/v1/auth/break-glass",
            Some(&phil),
            Some(json!({"reason": "code blue in bed 1, checking the last doses"})),
        )
        .await;
    assert_eq!(status, axum::http::StatusCode::OK, "{b}");
    let mut ws = connect(addr, Some(&phil)).await.unwrap();
    send(&mut ws, json!({"subscribe": {"bed": "bed-1"}})).await;
    assert_eq!(next_json(&mut ws).await["event"], "subscribed");
    env.live
        .send(Arc::from(vec![sample("st-mary", "bed-1", 88.0)]))
        .unwrap();
    assert_eq!(next_json(&mut ws).await["samples"][0]["value"], 88.0);
    let flagged: bool = env
        .owner
        .query_one(
            "SELECT break_glass FROM audit_log WHERE event = 'vitals.live.subscribe'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert!(flagged, "the subscription is flagged in the audit log");
    env.done().await;
}
