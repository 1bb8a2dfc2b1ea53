//! Staff messages: sent sealed, listed and receipted per reader, visible
//! only to the sender, the recipient and the recipient role's holders (and
//! to everyone of the site for a ward), every bad field named, tenant
//! isolation, and `staff:message:new` on the recipients' live connections.

use axum::http::{Method, StatusCode};
use dashboard_api::db::begin_tenant;
use dashboard_api::roles::Role;
use serde_json::{json, Value};

use crate::live::{connect, next_json, send, serve, Socket};
use crate::support::{cheap_config, code, env, tenant, Env};

async fn post(env: &Env, token: &str, body: Value) -> (StatusCode, Value) {
    env.call(Method::POST, "/api/v1/messages", Some(token), Some(body))
        .await
}

async fn get(env: &Env, token: &str, uri: &str) -> (StatusCode, Value) {
    env.call(Method::GET, uri, Some(token), None).await
}

/// Sends and returns the new message's id.
async fn sent(env: &Env, token: &str, to: Value, subject: &str) -> String {
    let body = json!({"to": to, "subject": subject, "body": "b", "priority": "routine"});
    let (status, m) = post(env, token, body).await;
    assert_eq!(status, StatusCode::CREATED, "{m}");
    m["id"].as_str().unwrap().to_owned()
}

fn ids(page: &Value) -> Vec<&str> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect()
}

fn fields(problem: &Value) -> Vec<&str> {
    problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect()
}

async fn audited(env: &Env, event: &str, patient: &str) -> i64 {
    env.owner
        .query_one(
            "SELECT count(*) FROM audit_log WHERE event = $1 AND patient_id = $2",
            &[&event, &patient],
        )
        .await
        .unwrap()
        .get(0)
}

/// A patient of st-mary registered by `token` (a nurse).
async fn patient(env: &Env, token: &str) -> String {
    let (status, p) = env
        .call(
            Method::POST,
            "/api/v1/patients",
            Some(token),
            Some(json!({"mrn": "MRN-9", "name": "Ann Example", "birth_date": "1961-07-14"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{p}");
    p["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn messages_are_sealed_listed_and_receipted_per_reader() {
    let Some(env) = env("messages_flow", cheap_config()).await else {
        return;
    };
    env.user("st-mary", "ann", &[Role::Nurse]).await;
    let doc_id = env.user("st-mary", "doc", &[Role::Physician]).await;
    let pharm1_id = env.user("st-mary", "pharm1", &[Role::Pharmacist]).await;
    env.user("st-mary", "pharm2", &[Role::Pharmacist]).await;
    env.user("st-mary", "bill", &[Role::BillingClerk]).await;
    let ann = env.login("st-mary", "ann").await;
    let doc = env.login("st-mary", "doc").await;
    let pharm1 = env.login("st-mary", "pharm1").await;
    let pharm2 = env.login("st-mary", "pharm2").await;
    let bill = env.login("st-mary", "bill").await;
    let pid = patient(&env, &ann).await;

    let (status, m) = post(
        &env,
        &ann,
        json!({"to": {"user": doc_id}, "subject": "Bed 4: potassium 6.1",
               "body": "Ann Example's K+ is 6.1 mmol/L.\nPlease review.",
               "priority": "urgent", "patient_id": pid}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{m}");
    let id = m["id"].as_str().unwrap().to_owned();
    assert_eq!(m["to"], json!({"user": doc_id}));
    assert_eq!(m["reads"], json!([]));

    // Nothing readable at rest.
    let row = env
        .owner
        .query_one(
            "SELECT subject_sealed, body_sealed FROM staff_messages WHERE id = $1",
            &[&id],
        )
        .await
        .unwrap();
    for col in 0..2 {
        let text = String::from_utf8_lossy(row.get::<_, &[u8]>(col)).into_owned();
        for plain in ["potassium", "Ann Example", "6.1", "review"] {
            assert!(!text.contains(plain), "column {col} holds {plain}");
        }
    }

    // The inbox shows the subject, not the body; the message opens both.
    let (status, inbox) = get(&env, &doc, "/api/v1/messages?unread=true").await;
    assert_eq!(status, StatusCode::OK, "{inbox}");
    assert_eq!(ids(&inbox), [id.as_str()]);
    let item = &inbox["items"][0];
    assert_eq!(item["subject"], "Bed 4: potassium 6.1");
    assert!(item.get("body").is_none() && item.get("read_at").is_none());
    assert_eq!(
        (&item["read_count"], &item["patient_id"]),
        (&json!(0), &json!(pid))
    );
    let url = format!("/api/v1/messages/{id}");
    let (status, full) = get(&env, &doc, &url).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        full["body"],
        "Ann Example's K+ is 6.1 mmol/L.\nPlease review."
    );

    // A receipt once; again it answers the first.
    let receipt = format!("{url}/read");
    let (status, r1) = env.call(Method::POST, &receipt, Some(&doc), None).await;
    assert_eq!(status, StatusCode::OK, "{r1}");
    let (_, r2) = env.call(Method::POST, &receipt, Some(&doc), None).await;
    assert_eq!(r1, r2);
    assert_eq!(r1["user_id"], json!(doc_id));
    let (_, unread) = get(&env, &doc, "/api/v1/messages?unread=true").await;
    assert_eq!(unread["items"], json!([]));
    let (_, all) = get(&env, &doc, "/api/v1/messages").await;
    assert_eq!(all["items"][0]["read_at"], r1["read_at"]);
    assert_eq!(all["items"][0]["read_count"], 1);

    // A role message: each holder has their own receipt.
    let to_pharmacy = sent(
        &env,
        &ann,
        json!({"role": "pharmacist"}),
        "Stock of heparin",
    )
    .await;
    let receipt = format!("/api/v1/messages/{to_pharmacy}/read");
    let (status, _) = env.call(Method::POST, &receipt, Some(&pharm1), None).await;
    assert_eq!(status, StatusCode::OK);
    let (_, p2) = get(&env, &pharm2, "/api/v1/messages?unread=true").await;
    assert_eq!(ids(&p2), [to_pharmacy.as_str()]);
    let (_, p1) = get(&env, &pharm1, "/api/v1/messages?unread=true").await;
    assert_eq!(p1["items"], json!([]));
    let (_, seen) = get(&env, &ann, &format!("/api/v1/messages/{to_pharmacy}")).await;
    assert_eq!(seen["reads"][0]["user_id"], json!(pharm1_id));
    assert!(seen.get("read_at").is_none(), "the sender has no receipt");

    // The sender's list, newest first, a page at a time.
    let (_, page1) = get(&env, &ann, "/api/v1/messages/sent?limit=1").await;
    assert_eq!(ids(&page1), [to_pharmacy.as_str()]);
    let next = page1["next_cursor"].as_str().unwrap();
    let (_, page2) = get(
        &env,
        &ann,
        &format!("/api/v1/messages/sent?limit=1&cursor={next}"),
    )
    .await;
    assert_eq!(ids(&page2), [id.as_str()]);
    assert!(page2.get("next_cursor").is_none());
    let (_, mine) = get(&env, &ann, "/api/v1/messages").await;
    assert_eq!(mine["items"], json!([]), "nothing was sent to ann");

    // Nobody else sees them: 404, as for no message at all.
    for (token, url) in [
        (&bill, &url),
        (&doc, &format!("/api/v1/messages/{to_pharmacy}")),
    ] {
        let (status, b) = get(&env, token, url).await;
        assert_eq!((status, code(&b)), (StatusCode::NOT_FOUND, "not_found"));
        let (status, _) = env
            .call(Method::POST, &format!("{url}/read"), Some(token), None)
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }
    let (_, bills) = get(&env, &bill, "/api/v1/messages").await;
    assert_eq!(bills["items"], json!([]));

    // A ward message is for the site's clinical ward staff, not for billing.
    let to_icu = sent(&env, &ann, json!({"ward": "icu"}), "Visitors until 8 pm").await;
    let (status, _) = get(&env, &doc, &format!("/api/v1/messages/{to_icu}")).await;
    assert_eq!(status, StatusCode::OK);
    let (_, ward) = get(&env, &doc, "/api/v1/messages?ward=icu").await;
    assert_eq!(ids(&ward), [to_icu.as_str()]);
    let (status, _) = get(&env, &bill, &format!("/api/v1/messages/{to_icu}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = get(&env, &bill, "/api/v1/messages?ward=icu").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (_, docs) = get(&env, &doc, "/api/v1/messages").await;
    assert!(
        !ids(&docs).contains(&to_icu.as_str()),
        "the inbox is not the ward's"
    );

    // Every touch of the message about the patient names the patient.
    assert_eq!(audited(&env, "message.send", &pid).await, 1);
    assert_eq!(audited(&env, "message.read", &pid).await, 1);
    assert_eq!(audited(&env, "message.receipt", &pid).await, 1);
    // Three list pages before, and the physician's inbox just now, showed it.
    assert_eq!(audited(&env, "message.list", &pid).await, 4);
    env.done().await;
}

#[tokio::test]
async fn bad_messages_name_every_bad_field() {
    let Some(env) = env("messages_invalid", cheap_config()).await else {
        return;
    };
    env.user("st-mary", "ann", &[Role::Nurse]).await;
    let ann = env.login("st-mary", "ann").await;
    let unknown = "0".repeat(32);

    let (status, b) = post(&env, &ann, json!({})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{b}");
    assert_eq!(fields(&b), ["to", "subject", "body", "priority"]);
    let (status, b) = post(
        &env,
        &ann,
        json!({"to": {"user": unknown, "ward": "icu"}, "subject": "",
               "body": "x".repeat(4001), "priority": "soon", "patient_id": "p-1"}),
    )
    .await;
    assert_eq!(
        (status, code(&b)),
        (StatusCode::BAD_REQUEST, "validation_failed")
    );
    assert_eq!(
        fields(&b),
        ["to", "subject", "body", "priority", "patient_id"]
    );
    let (status, b) = post(
        &env,
        &ann,
        json!({"to": {"ward": "i c u"}, "subject": "a\u{7}", "body": "ok", "priority": "urgent"}),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(fields(&b), ["to.ward", "subject"]);

    // Well-formed, but naming no user, role or patient of the site.
    let (status, b) = post(
        &env,
        &ann,
        json!({"to": {"user": unknown}, "subject": "s", "body": "b",
               "priority": "routine", "patient_id": unknown}),
    )
    .await;
    assert_eq!(
        (status, code(&b)),
        (StatusCode::UNPROCESSABLE_ENTITY, "unknown_reference")
    );
    assert_eq!(fields(&b), ["to.user", "patient_id"]);
    let (status, b) = post(
        &env,
        &ann,
        json!({"to": {"role": "janitor"}, "subject": "s", "body": "b", "priority": "routine"}),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(fields(&b), ["to.role"]);

    for query in ["unread=yes", "ward=a%20b", "limit=0", "cursor=nope"] {
        let (status, b) = get(&env, &ann, &format!("/api/v1/messages?{query}")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}: {b}");
    }
    let (status, _) = get(&env, &ann, "/api/v1/messages/not-an-id").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let count: i64 = env
        .owner
        .query_one("SELECT count(*) FROM staff_messages", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(count, 0);
    env.done().await;
}

#[tokio::test]
async fn another_site_cannot_reach_messages_by_crafted_ids() {
    let Some(env) = env("messages_tenancy", cheap_config()).await else {
        return;
    };
    env.user("st-mary", "ann", &[Role::Nurse]).await;
    let mary_doc = env.user("st-mary", "doc", &[Role::Physician]).await;
    env.user("st-john", "jo", &[Role::Nurse, Role::Physician])
        .await;
    let ann = env.login("st-mary", "ann").await;
    let jo = env.login("st-john", "jo").await;
    let pid = patient(&env, &ann).await;
    let to_doc = sent(&env, &ann, json!({"user": mary_doc}), "Round at 9").await;
    let to_nurses = sent(&env, &ann, json!({"role": "nurse"}), "Handover").await;
    let to_icu = sent(&env, &ann, json!({"ward": "icu"}), "Ward news").await;

    for id in [&to_doc, &to_nurses, &to_icu] {
        let url = format!("/api/v1/messages/{id}");
        let (status, _) = get(&env, &jo, &url).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "read {id}");
        let (status, _) = env
            .call(Method::POST, &format!("{url}/read"), Some(&jo), None)
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "receipt {id}");
    }
    for uri in ["/api/v1/messages", "/api/v1/messages?ward=icu"] {
        let (_, page) = get(&env, &jo, uri).await;
        assert_eq!(page["items"], json!([]), "{uri}");
    }
    // St Mary's user and patient are unknown at St John.
    let (status, b) = post(
        &env,
        &jo,
        json!({"to": {"user": mary_doc}, "subject": "s", "body": "b",
               "priority": "routine", "patient_id": pid}),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(fields(&b), ["to.user", "patient_id"]);

    let receipts: i64 = env
        .owner
        .query_one("SELECT count(*) FROM staff_message_reads", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(receipts, 0);
    // Row-level security hides them from a query that forgets its tenant.
    let mut conn = env.core.pool.get().await.unwrap();
    let tx = begin_tenant(conn.client(), &tenant("st-john"))
        .await
        .unwrap();
    let seen: i64 = tx
        .query_one("SELECT count(*) FROM staff_messages", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(seen, 0);
    drop(tx);
    drop(conn);
    env.done().await;
}

/// The next `staff:message:new` frame's data, skipping replies to the
/// client's own messages. Bounded, so a missing event fails instead of
/// hanging.
async fn next_message(ws: &mut Socket) -> Value {
    let next = async {
        loop {
            let v = next_json(ws).await;
            if v["event"] == "staff:message:new" {
                return v["data"].clone();
            }
            assert!(v["detail"].is_string(), "unexpected frame {v}");
        }
    };
    tokio::time::timeout(std::time::Duration::from_secs(10), next)
        .await
        .expect("a staff:message:new frame")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_messages_reach_the_recipients_live_connections_only() {
    let Some(env) = env("messages_live", cheap_config()).await else {
        return;
    };
    let ann_id = env.user("st-mary", "ann", &[Role::Nurse]).await;
    let doc_id = env.user("st-mary", "doc", &[Role::Physician]).await;
    env.user("st-mary", "pharm", &[Role::Pharmacist]).await;
    let bill_id = env.user("st-mary", "bill", &[Role::BillingClerk]).await;
    env.user("st-mary", "nina", &[Role::Nurse]).await;
    let all = [Role::Nurse, Role::Physician, Role::Pharmacist];
    let jo_id = env.user("st-john", "jo", &all).await;
    env.user("st-john", "jack", &[Role::Nurse]).await;
    let addr = serve(&env).await;
    let mut sockets = Vec::new();
    for (site, name) in [
        ("st-mary", "doc"),
        ("st-mary", "pharm"),
        ("st-mary", "bill"),
        ("st-mary", "nina"),
        ("st-john", "jo"),
    ] {
        let token = env.login(site, name).await;
        sockets.push(connect(addr, Some(&token)).await.unwrap());
    }
    let [doc, pharm, bill, nina, jo] = &mut sockets[..] else {
        unreachable!()
    };
    // Nina and Jo follow a ward called icu, each at their own site.
    for ws in [&mut *nina, &mut *jo] {
        send(ws, json!({"subscribe": {"ward": "icu"}})).await;
        assert_eq!(next_json(ws).await["event"], "subscribed");
    }
    let ann = env.login("st-mary", "ann").await;
    let jack = env.login("st-john", "jack").await;
    let to_doc = sent(&env, &ann, json!({"user": doc_id}), "Potassium 6.1").await;
    let to_pharmacy = sent(&env, &ann, json!({"role": "pharmacist"}), "Heparin").await;
    let to_icu = sent(&env, &ann, json!({"ward": "icu"}), "Visitors").await;
    let to_bill = sent(&env, &ann, json!({"user": bill_id}), "Invoice").await;
    let to_jo = sent(&env, &jack, json!({"user": jo_id}), "St John only").await;

    let got = next_message(doc).await;
    assert_eq!(got["message_id"], json!(to_doc));
    let mut keys: Vec<&String> = got.as_object().unwrap().keys().collect();
    keys.sort();
    assert_eq!(
        keys,
        ["message_id", "priority", "sender_id", "sent_at", "to"]
    );
    assert_eq!(
        (&got["sender_id"], &got["to"]),
        (&json!(ann_id), &json!({"user": doc_id}))
    );
    let got = next_message(pharm).await;
    assert_eq!(
        (&got["message_id"], &got["to"]),
        (&json!(to_pharmacy), &json!({"role": "pharmacist"}))
    );
    // Nina is a nurse who follows the ward: the ward's message is her first.
    let got = next_message(nina).await;
    assert_eq!(
        (&got["message_id"], &got["to"]),
        (&json!(to_icu), &json!({"ward": "icu"}))
    );
    // Bill's first message is his own: none of the others reached him.
    assert_eq!(next_message(bill).await["message_id"], json!(to_bill));
    // Jo holds every recipient role and follows an icu ward, but at St John:
    // the first message reaching Jo is St John's.
    assert_eq!(next_message(jo).await["message_id"], json!(to_jo));
    env.done().await;
}
