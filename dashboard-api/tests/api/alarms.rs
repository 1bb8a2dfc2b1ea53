//! Open alarms, NEWS2 and staff actions through the router, over a real
//! alerting runtime fed by the live bus.

use std::sync::Arc;

use alerting::notice::{AlarmNotice, LiveEvent};
use alerting::runtime::Clock;
use axum::http::{Method, StatusCode};
use collector::{LiveBatch, Origin, Quality, Sample};
use dashboard_api::api::alarms::Alerting;
use dashboard_api::roles::Role;
use firmware_adapters::Metric;
use serde_json::{json, Value};
use tokio::sync::broadcast;

use crate::support::{alerting_runtime, call, cheap_config, code, env, Env};

fn batch(bed: &str, metric: Metric, value: f64) -> LiveBatch {
    let at = Clock::start().now().as_micros();
    let s = Sample {
        time_us: at,
        received_us: at,
        origin: Origin::new("st-mary", bed, "mon-1"),
        metric,
        value,
        quality: Quality::empty(),
    };
    vec![s].into()
}

/// Waits for the alarm change `change` of `rule` and returns it.
async fn change(
    rx: &mut broadcast::Receiver<Arc<LiveEvent>>,
    change: &str,
    rule: &str,
) -> AlarmNotice {
    loop {
        let ev = rx.recv().await.unwrap();
        if let Some(n) = ev
            .alarm()
            .filter(|n| n.rule.as_ref() == rule && n.change == change)
        {
            return n.clone();
        }
    }
}

/// Waits for the alarm event `name` of `rule` (a signal, not a sleep).
async fn until(rx: &mut broadcast::Receiver<Arc<LiveEvent>>, name: &str, rule: &str) {
    loop {
        let ev = rx.recv().await.unwrap();
        if ev.name() == name && ev.alarm().is_some_and(|n| n.rule.as_ref() == rule) {
            return;
        }
    }
}

async fn signed_in(env: &Env, tenant: &str, name: &str, role: Role) -> (String, String) {
    let id = env.user(tenant, name, &[role]).await;
    (id, env.login(tenant, name).await)
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

fn rules(list: &Value) -> Vec<&str> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|a| a["rule"].as_str().unwrap())
        .collect()
}

const DESAT: &str = "/api/v1/beds/bed-1/alarms/spo2_desat";

#[tokio::test]
async fn open_alarms_are_listed_filtered_acknowledged_and_silenced_as_the_caller() {
    let Some(env) = env("alarm_actions", cheap_config()).await else {
        return;
    };
    let (nurse_id, nurse) = signed_in(&env, "st-mary", "ann", Role::Nurse).await;
    let (_, engineer) = signed_in(&env, "st-mary", "bob", Role::BiomedicalEngineer).await;
    let (_, other_site) = signed_in(&env, "st-john", "cy", Role::Nurse).await;
    let mut events = env.alerting.subscribe();
    env.live.send(batch("bed-1", Metric::Spo2, 75.0)).unwrap();
    until(&mut events, "alarm:raised", "spo2_desat").await;

    let (status, list) = env
        .call(Method::GET, "/api/v1/alarms", Some(&nurse), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{list}");
    assert!(rules(&list).contains(&"spo2_desat"), "{list}");
    let desat = &list.as_array().unwrap()[0];
    assert_eq!(
        (&desat["bed"], &desat["state"], &desat["class"]),
        (
            &json!("bed-1"),
            &json!("active_unacknowledged"),
            &json!("physiological")
        )
    );
    // Filters.
    for (query, expect_some) in [
        ("bed=bed-1&priority=high&state=active_unacknowledged", true),
        ("bed=bed-2", false),
        ("state=silenced", false),
    ] {
        let uri = format!("/api/v1/alarms?{query}");
        let (_, l) = env.call(Method::GET, &uri, Some(&nurse), None).await;
        assert_eq!(
            rules(&l).contains(&"spo2_desat"),
            expect_some,
            "{query}: {l}"
        );
    }
    let (status, bad) = env
        .call(
            Method::GET,
            "/api/v1/alarms?priority=urgent&state=open&bed=a%20b",
            Some(&nurse),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let mut fields: Vec<&str> = bad["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    fields.sort_unstable();
    assert_eq!(fields, ["bed", "priority", "state"]);
    // Engineers see technical alarms only; another site sees nothing.
    for token in [&engineer, &other_site] {
        let (status, l) = env
            .call(Method::GET, "/api/v1/alarms", Some(token), None)
            .await;
        assert_eq!(status, StatusCode::OK);
        assert!(!rules(&l).contains(&"spo2_desat"), "{l}");
    }

    // Silence beyond the lifecycle maximum names the field and changes nothing.
    let silence = format!("{DESAT}/silence");
    let (status, b) = env
        .call(
            Method::POST,
            &silence,
            Some(&nurse),
            Some(json!({"duration_secs": 3600})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{b}");
    assert_eq!(b["errors"][0]["field"], "duration_secs");
    assert!(
        b["errors"][0]["message"].as_str().unwrap().contains("120"),
        "{b}"
    );
    let (status, b) = env
        .call(Method::POST, &silence, Some(&nurse), Some(json!({})))
        .await;
    assert_eq!(
        (status, &b["errors"][0]["field"]),
        (StatusCode::BAD_REQUEST, &json!("duration_secs"))
    );

    // Within the maximum the audio pauses.
    let (status, b) = env
        .call(
            Method::POST,
            &silence,
            Some(&nurse),
            Some(json!({"duration_secs": 60})),
        )
        .await;
    assert_eq!(
        (status, &b["state"]),
        (StatusCode::OK, &json!("silenced")),
        "{b}"
    );
    assert!(b["silenced_until_us"].is_i64(), "{b}");

    // Another site's nurse cannot touch it and learns nothing.
    let ack = format!("{DESAT}/acknowledge");
    let (status, b) = env.call(Method::POST, &ack, Some(&other_site), None).await;
    assert_eq!((status, code(&b)), (StatusCode::NOT_FOUND, "not_found"));

    let (status, b) = env.call(Method::POST, &ack, Some(&nurse), None).await;
    assert_eq!(status, StatusCode::OK, "{b}");
    assert_eq!(b["state"], "acknowledged", "{b}");
    let acked = change(&mut events, "acknowledged", "spo2_desat").await;
    assert_eq!(acked.actor, nurse_id, "the signed-in user is the actor");
    let (status, b) = env.call(Method::POST, &ack, Some(&nurse), None).await;
    assert_eq!(
        (status, code(&b)),
        (StatusCode::CONFLICT, "conflict"),
        "{b}"
    );
    // Not escalated: accepting is a conflict; an unknown alarm is 404.
    let (status, _) = env
        .call(Method::POST, &format!("{DESAT}/accept"), Some(&nurse), None)
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (status, _) = env
        .call(
            Method::POST,
            "/api/v1/beds/bed-9/alarms/spo2_desat/acknowledge",
            Some(&nurse),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Every action is audited with its outcome (0 success, 4 minor failure).
    let acks = audit_rows(&env, "alarm.acknowledge").await;
    let who = |i: usize| acks[i].0.as_str();
    assert_eq!(acks.len(), 4, "{acks:?}");
    assert_eq!(
        acks[1],
        (nurse_id.clone(), Some("bed-1/spo2_desat".into()), 0)
    );
    assert_eq!((acks[2].2, acks[3].2), (4, 4));
    assert_ne!(
        who(0),
        nurse_id,
        "the other site's attempt is on record too"
    );
    // Reads are audited (the refused query is not a read).
    assert_eq!(audit_rows(&env, "alarms.list").await.len(), 6);
    env.done().await;
}

#[tokio::test]
async fn escalation_offers_are_answered_by_the_recipient() {
    let Some(env) = env("alarm_escalation", cheap_config()).await else {
        return;
    };
    let (first_id, first) = signed_in(&env, "st-mary", "dee", Role::Nurse).await;
    let (second_id, second) = signed_in(&env, "st-mary", "eve", Role::ChargeNurse).await;
    let (handle, _stop) = alerting_runtime(&env.live, &[&first_id, &second_id]);
    let router = dashboard_api::app(
        env.state
            .clone()
            .with_alerting(Alerting::new("st-mary", handle.clone())),
    );
    let mut events = handle.subscribe();
    env.live.send(batch("bed-1", Metric::Spo2, 75.0)).unwrap();
    until(&mut events, "alarm:updated", "spo2_desat").await;

    // The second recipient has not been offered it yet.
    let (status, _) = call(
        &router,
        Method::POST,
        &format!("{DESAT}/accept"),
        Some(&second),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (status, b) = call(
        &router,
        Method::POST,
        &format!("{DESAT}/decline"),
        Some(&first),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{b}");
    let (status, b) = call(
        &router,
        Method::POST,
        &format!("{DESAT}/accept-and-call-back"),
        Some(&second),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{b}");
    let declined = change(&mut events, "escalation_declined", "spo2_desat").await;
    assert_eq!(declined.actor, first_id);
    let accepted = change(&mut events, "escalation_accepted", "spo2_desat").await;
    assert_eq!(accepted.actor, second_id);
    assert!(accepted.escalation.unwrap().call_back);
    env.done().await;
}

#[tokio::test]
async fn news2_of_a_bed_shows_scores_and_gaps() {
    let Some(env) = env("alarm_news2", cheap_config()).await else {
        return;
    };
    let (_, nurse) = signed_in(&env, "st-mary", "fay", Role::Nurse).await;
    let (status, b) = env
        .call(Method::GET, "/api/v1/beds/bed-7/news2", Some(&nurse), None)
        .await;
    assert_eq!(
        (status, code(&b)),
        (StatusCode::NOT_FOUND, "not_found"),
        "{b}"
    );
    let mut events = env.alerting.subscribe();
    env.live
        .send(batch("bed-7", Metric::HeartRate, 135.0))
        .unwrap();
    loop {
        let ev = events.recv().await.unwrap();
        if ev.name() == "patient:news2:update" {
            break;
        }
    }
    let (status, b) = env
        .call(Method::GET, "/api/v1/beds/bed-7/news2", Some(&nurse), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{b}");
    assert_eq!(b["complete"], false);
    let pulse = b["parts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["parameter"] == "pulse")
        .unwrap();
    assert_eq!(pulse["points"], 3, "{b}");
    assert_eq!(audit_rows(&env, "alarms.news2").await.len(), 2);
    env.done().await;
}

#[tokio::test]
async fn history_is_tenant_scoped_ranged_and_paged() {
    let Some(env) = env("alarm_history", cheap_config()).await else {
        return;
    };
    // Five changes of bed-1 a minute apart from 10:00, one technical row,
    // and one row of another site at the same time.
    env.owner
        .batch_execute(
            "INSERT INTO alarm_events (time, event_id, tenant_id, bed_id, rule_id, occurrence,
                 class, priority, change, state, actor)
             SELECT timestamptz '2026-11-30 10:00:00Z' + i * interval '1 minute', 'b-' || i,
                    'st-mary', 'bed-1', 'spo2_desat', 1, 'physiological', 'high',
                    'raised', 'active_unacknowledged', 'system'
               FROM generate_series(0, 4) AS i;
             INSERT INTO alarm_events (time, event_id, tenant_id, bed_id, rule_id, occurrence,
                 class, priority, change, state, actor)
             VALUES ('2026-11-30 10:02:30Z', 't-1', 'st-mary', '_gateway', 'database_down', 1,
                     'technical', 'medium', 'raised', 'active_unacknowledged', 'system'),
                    ('2026-11-30 10:02:30Z', 'j-1', 'st-john', 'bed-1', 'spo2_desat', 1,
                     'physiological', 'high', 'raised', 'active_unacknowledged', 'system');",
        )
        .await
        .unwrap();
    let (_, nurse) = signed_in(&env, "st-mary", "gus", Role::Nurse).await;
    let (_, engineer) = signed_in(&env, "st-mary", "hal", Role::BiomedicalEngineer).await;
    let range = "/api/v1/alarms/history?from=2026-11-30T10:00:00Z&to=2026-11-30T11:00:00Z";
    let ids = |page: &Value| -> Vec<String> {
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["event_id"].as_str().unwrap().to_owned())
            .collect()
    };
    let (status, page) = env
        .call(Method::GET, &format!("{range}&limit=4"), Some(&nurse), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(ids(&page), ["b-4", "b-3", "t-1", "b-2"]);
    let cursor = page["next_cursor"].as_str().unwrap();
    let (_, rest) = env
        .call(
            Method::GET,
            &format!("{range}&limit=4&cursor={cursor}"),
            Some(&nurse),
            None,
        )
        .await;
    assert_eq!(ids(&rest), ["b-1", "b-0"]);
    assert!(rest.get("next_cursor").is_none(), "{rest}");
    let (_, bed) = env
        .call(
            Method::GET,
            &format!("{range}&bed=_gateway"),
            Some(&nurse),
            None,
        )
        .await;
    assert_eq!(ids(&bed), ["t-1"]);
    let (_, technical) = env.call(Method::GET, range, Some(&engineer), None).await;
    assert_eq!(ids(&technical), ["t-1"]);

    let (status, bad) = env
        .call(
            Method::GET,
            "/api/v1/alarms/history?from=2026-11-30T10:00:00Z&to=2027-11-30T10:00:00Z&limit=0&cursor=x",
            Some(&nurse),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let mut fields: Vec<&str> = bad["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    fields.sort_unstable();
    assert_eq!(fields, ["cursor", "limit", "to"]);
    assert_eq!(audit_rows(&env, "alarms.history").await.len(), 4);
    env.done().await;
}

fn fields_of(body: &Value) -> Vec<&str> {
    let mut f: Vec<&str> = body["errors"]
        .as_array()
        .map(|a| a.iter().filter_map(|e| e["field"].as_str()).collect())
        .unwrap_or_default();
    f.sort_unstable();
    f
}

#[tokio::test]
async fn manual_observations_feed_news2_as_the_caller() {
    let Some(env) = env("alarm_observations", cheap_config()).await else {
        return;
    };
    let (nurse_id, nurse) = signed_in(&env, "st-mary", "ida", Role::Nurse).await;
    let (_, other_site) = signed_in(&env, "st-john", "jon", Role::Nurse).await;
    let uri = "/api/v1/beds/bed-3/observations";
    let (status, b) = env
        .call(
            Method::POST,
            uri,
            Some(&nurse),
            Some(json!({"consciousness": "sleepy", "oxygen": "tank", "spo2_scale": 3})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(fields_of(&b), ["consciousness", "oxygen", "spo2_scale"]);
    let (status, b) = env
        .call(Method::POST, uri, Some(&nurse), Some(json!({})))
        .await;
    assert_eq!(
        (status, fields_of(&b)),
        (StatusCode::BAD_REQUEST, vec!["consciousness"])
    );
    let body = json!({"consciousness": "voice", "oxygen": "supplemental"});
    let (status, _) = env
        .call(Method::POST, uri, Some(&other_site), Some(body.clone()))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let mut events = env.alerting.subscribe();
    let (status, b) = env.call(Method::POST, uri, Some(&nurse), Some(body)).await;
    assert_eq!(status, StatusCode::OK, "{b}");
    let points = |p: &str| {
        b["parts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["parameter"] == p)
            .map(|x| x["points"].clone())
            .unwrap()
    };
    assert_eq!(
        (points("consciousness"), points("oxygen")),
        (json!(3), json!(2)),
        "{b}"
    );
    loop {
        let ev = events.recv().await.unwrap();
        if let LiveEvent::Observation(note) = &*ev {
            assert_eq!(
                (note.change, note.actor.as_str()),
                ("consciousness", nurse_id.as_str())
            );
            break;
        }
    }
    let rows = audit_rows(&env, "news2.observation").await;
    assert_eq!(rows, [(nurse_id, Some("bed-3".into()), 0)]);
    env.done().await;
}

#[tokio::test]
async fn limit_overrides_need_a_reason_and_reach_the_runtime_as_the_caller() {
    let Some(env) = env("alarm_overrides", cheap_config()).await else {
        return;
    };
    let (doc_id, doc) = signed_in(&env, "st-mary", "kim", Role::Physician).await;
    let set = "/api/v1/limit-overrides";
    let (status, b) = env
        .call(
            Method::POST,
            set,
            Some(&doc),
            Some(
                json!({"bed_id": "bed-2", "patient_id": "p-1", "rule": "heart_rate",
                        "low": 90, "high": 80, "reason": " "}),
            ),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(fields_of(&b), ["bed_id", "high", "reason"]);
    let (status, b) = env
        .call(
            Method::POST,
            set,
            Some(&doc),
            Some(json!({"bed_id": "bed-2", "rule": "no_such_rule", "high": 1, "reason": "x"})),
        )
        .await;
    assert_eq!(
        (status, fields_of(&b)),
        (StatusCode::BAD_REQUEST, vec!["rule"]),
        "{b}"
    );

    let mut events = env.alerting.subscribe();
    let good = json!({"bed_id": "bed-2", "rule": "heart_rate", "low": 40, "high": 140,
                      "reason": "athlete, resting tachycardia known"});
    let (status, b) = env.call(Method::POST, set, Some(&doc), Some(good)).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{b}");
    // The runtime applies it with who and why (what alarms then is the
    // alerting crate's tested behaviour; the heart-rate rule's on-delay
    // would need ten seconds of samples here).
    loop {
        let ev = events.recv().await.unwrap();
        if let LiveEvent::LimitsChanged(note) = &*ev {
            assert_eq!(note.actor, doc_id);
            assert_eq!(note.detail["high"], 140.0, "{:?}", note.detail);
            assert_eq!(note.detail["reason"], "athlete, resting tachycardia known");
            break;
        }
    }

    let clear = "/api/v1/limit-overrides/clear";
    let (status, b) = env
        .call(
            Method::POST,
            clear,
            Some(&doc),
            Some(
                json!({"bed_id": "bed-2", "rule": "heart_rate", "high": 1, "reason": "discharged"}),
            ),
        )
        .await;
    assert_eq!(
        (status, fields_of(&b)),
        (StatusCode::BAD_REQUEST, vec!["high"])
    );
    let (status, _) = env
        .call(
            Method::POST,
            clear,
            Some(&doc),
            Some(json!({"bed_id": "bed-2", "rule": "heart_rate", "reason": "settled"})),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let rows = audit_rows(&env, "alarm_limits.override").await;
    assert_eq!(
        rows,
        [
            (doc_id.clone(), Some("bed/bed-2/no_such_rule".into()), 4),
            (doc_id.clone(), Some("bed/bed-2/heart_rate".into()), 0)
        ]
    );
    assert_eq!(audit_rows(&env, "alarm_limits.clear").await.len(), 1);
    env.done().await;
}
