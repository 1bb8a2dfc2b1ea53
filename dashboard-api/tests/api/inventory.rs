//! Ward stock: items and their ledger, stock that never goes below zero
//! under concurrent issues, the split between issuing and managing stock,
//! ETags, soft deletion and tenant isolation. `inventory:stock:low` on the
//! live socket is in `inventory_live`.

use axum::http::{Method, StatusCode};
use dashboard_api::roles::Role;
use serde_json::{json, Value};

use crate::support::{cheap_config, code, env, send, tenant, Env};

pub(crate) const ITEMS: &str = "/api/v1/inventory/items";

/// Creates an item at `location`; its id.
pub(crate) async fn new_item(
    env: &Env,
    token: &str,
    sku: &str,
    location: &str,
    level: i64,
) -> String {
    let body = json!({"sku": sku, "name": format!("{sku} name"), "unit": "vial",
                      "location_id": location, "reorder_level": level});
    let (status, tag, b) = send(env, Method::POST, ITEMS, token, None, Some(body)).await;
    assert_eq!(
        (status, tag.as_deref()),
        (StatusCode::CREATED, Some("\"v1\"")),
        "{b}"
    );
    b["id"].as_str().unwrap().to_owned()
}

/// Records a movement on item `id`.
pub(crate) async fn move_stock(
    env: &Env,
    token: &str,
    id: &str,
    body: Value,
) -> (StatusCode, Value) {
    let uri = format!("{ITEMS}/{id}/movements");
    let (status, _, b) = send(env, Method::POST, &uri, token, None, Some(body)).await;
    (status, b)
}

async fn on_hand(env: &Env, token: &str, id: &str) -> i64 {
    let (_, _, b) = send(
        env,
        Method::GET,
        &format!("{ITEMS}/{id}"),
        token,
        None,
        None,
    )
    .await;
    b["on_hand"].as_i64().unwrap()
}

fn fields(b: &Value) -> Vec<&str> {
    b["errors"]
        .as_array()
        .map(|a| a.iter().map(|e| e["field"].as_str().unwrap()).collect())
        .unwrap_or_default()
}

fn kinds(page: &Value) -> Vec<&str> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["kind"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn items_live_through_their_ledger_until_deleted() {
    let Some(env) = env("inventory_lifecycle", cheap_config()).await else {
        return;
    };
    let phil_id = env.user("st-mary", "phil", &[Role::Pharmacist]).await;
    env.user("st-mary", "nina", &[Role::Nurse]).await;
    let phil = env.login("st-mary", "phil").await;
    let nina = env.login("st-mary", "nina").await;

    let id = new_item(&env, &phil, "AMOX-500", "ward-3", 5).await;
    let url = format!("{ITEMS}/{id}");
    let (_, _, b) = send(&env, Method::GET, &url, &nina, None, None).await;
    assert_eq!((&b["on_hand"], &b["low"]), (&json!(0), &json!(true)));
    let dup = json!({"sku": "AMOX-500", "name": "again", "unit": "box", "location_id": "ward-9",
                     "reorder_level": 0});
    let (status, _, b) = send(&env, Method::POST, ITEMS, &phil, None, Some(dup.clone())).await;
    assert_eq!((status, code(&b)), (StatusCode::CONFLICT, "conflict"));
    assert!(b["detail"].as_str().unwrap().contains("AMOX-500"), "{b}");

    let receipt = json!({"kind": "receipt", "quantity": 20, "lot": "L-77", "expiry": "2027-06-30"});
    let (status, b) = move_stock(&env, &phil, &id, receipt).await;
    assert_eq!(status, StatusCode::CREATED, "{b}");
    assert_eq!(b["on_hand"], 20);
    let m = &b["movement"];
    assert_eq!(
        (&m["quantity_delta"], &m["expiry"], &m["lot"], &m["by"]),
        (
            &json!(20),
            &json!("2027-06-30"),
            &json!("L-77"),
            &json!(phil_id)
        )
    );
    let (_, b) = move_stock(&env, &nina, &id, json!({"kind": "issue", "quantity": 3})).await;
    assert_eq!(
        (&b["on_hand"], &b["movement"]["quantity_delta"]),
        (&json!(17), &json!(-3))
    );

    // Taking out more than there is changes nothing and says what is there.
    let (status, b) = move_stock(&env, &nina, &id, json!({"kind": "issue", "quantity": 18})).await;
    assert_eq!(
        (status, code(&b)),
        (StatusCode::CONFLICT, "insufficient_stock")
    );
    assert!(
        b["detail"].as_str().unwrap().contains("on_hand is 17"),
        "{b}"
    );
    assert_eq!(on_hand(&env, &nina, &id).await, 17);

    for (token, body, expected) in [
        (&nina, json!({"kind": "return", "quantity": 1}), 18),
        (
            &phil,
            json!({"kind": "adjustment", "delta": -2, "reason": "count"}),
            16,
        ),
        (
            &phil,
            json!({"kind": "disposal", "quantity": 1, "reason": "broken"}),
            15,
        ),
    ] {
        let (status, b) = move_stock(&env, token, &id, body).await;
        assert_eq!(
            (status, &b["on_hand"]),
            (StatusCode::CREATED, &json!(expected)),
            "{b}"
        );
    }

    // The ledger, newest first, two a page; it explains on_hand.
    let mut seen = Vec::new();
    let mut uri = format!("{url}/movements?limit=2");
    loop {
        let (status, _, page) = send(&env, Method::GET, &uri, &nina, None, None).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        seen.extend(kinds(&page).into_iter().map(str::to_owned));
        if seen.len() == 2 {
            assert_eq!(page["items"][0]["on_hand_after"], 15);
        }
        let Some(next) = page["next_cursor"].as_str() else {
            break;
        };
        uri = format!("{url}/movements?limit=2&cursor={next}");
    }
    assert_eq!(
        seen,
        ["disposal", "adjustment", "return", "issue", "receipt"]
    );

    // Every movement raised the version: a change based on v1 is stale.
    let (_, tag, _) = send(&env, Method::GET, &url, &phil, None, None).await;
    assert_eq!(tag.as_deref(), Some("\"v6\""));
    let change = json!({"name": "Amoxicillin 500 mg", "reorder_level": 8});
    let (status, _, b) = send(&env, Method::PATCH, &url, &phil, None, Some(change.clone())).await;
    assert_eq!(
        (status, code(&b)),
        (StatusCode::PRECONDITION_REQUIRED, "precondition_required")
    );
    let (status, _, b) = send(
        &env,
        Method::PATCH,
        &url,
        &phil,
        Some("\"v1\""),
        Some(change.clone()),
    )
    .await;
    assert_eq!(
        (status, code(&b)),
        (StatusCode::PRECONDITION_FAILED, "precondition_failed")
    );
    let (status, tag, b) = send(
        &env,
        Method::PATCH,
        &url,
        &phil,
        Some("\"v6\""),
        Some(change),
    )
    .await;
    assert_eq!(
        (status, tag.as_deref()),
        (StatusCode::OK, Some("\"v7\"")),
        "{b}"
    );
    assert_eq!(
        (&b["reorder_level"], &b["on_hand"]),
        (&json!(8), &json!(15))
    );

    // Lists: by location, and only the low ones.
    let other = new_item(&env, &phil, "GAUZE", "ward-4", 0).await;
    let list = |q: &str| format!("{ITEMS}?{q}");
    let ids = |b: &Value| -> Vec<String> {
        b["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["id"].as_str().unwrap().to_owned())
            .collect()
    };
    let (_, _, b) = send(
        &env,
        Method::GET,
        &list("location=ward-3"),
        &nina,
        None,
        None,
    )
    .await;
    assert_eq!(ids(&b), std::slice::from_ref(&id));
    let (_, _, b) = send(&env, Method::GET, &list("low=true"), &nina, None, None).await;
    assert_eq!(ids(&b), std::slice::from_ref(&other));
    let (_, _, b) = send(&env, Method::GET, &list("limit=1"), &nina, None, None).await;
    let cursor = b["next_cursor"].as_str().unwrap().to_owned();
    let (_, _, b2) = send(
        &env,
        Method::GET,
        &list(&format!("limit=1&cursor={cursor}")),
        &nina,
        None,
        None,
    )
    .await;
    let mut both = [ids(&b), ids(&b2)].concat();
    both.sort();
    let mut expected = vec![id.clone(), other];
    expected.sort();
    assert_eq!((both, b2.get("next_cursor")), (expected, None));

    // Soft delete: If-Match, then 410 on every route of the item.
    let (status, _, _) = send(&env, Method::DELETE, &url, &phil, None, None).await;
    assert_eq!(status, StatusCode::PRECONDITION_REQUIRED);
    let (status, _, _) = send(&env, Method::DELETE, &url, &phil, Some("\"v6\""), None).await;
    assert_eq!(status, StatusCode::PRECONDITION_FAILED);
    let (status, _, _) = send(&env, Method::DELETE, &url, &phil, Some("\"v7\""), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let moves = format!("{url}/movements");
    for (method, uri, body) in [
        (Method::GET, &url, None),
        (Method::PATCH, &url, Some(json!({"reorder_level": 1}))),
        (Method::DELETE, &url, None),
        (Method::GET, &moves, None),
        (
            Method::POST,
            &moves,
            Some(json!({"kind": "issue", "quantity": 1})),
        ),
    ] {
        let (status, _, b) = send(&env, method.clone(), uri, &phil, Some("\"v8\""), body).await;
        assert_eq!(
            (status, code(&b)),
            (StatusCode::GONE, "gone"),
            "{method} {uri}"
        );
    }
    let (_, _, b) = send(
        &env,
        Method::GET,
        &list("location=ward-3"),
        &nina,
        None,
        None,
    )
    .await;
    assert_eq!(b["items"], json!([]));
    // The SKU is free again for a live item.
    let (status, _, _) = send(&env, Method::POST, ITEMS, &phil, None, Some(dup)).await;
    assert_eq!(status, StatusCode::CREATED);

    // Writes are audited (the refused issue rolled back), reads are not.
    let audited: Vec<String> = env
        .owner
        .query(
            "SELECT event FROM audit_log WHERE event LIKE 'inventory%' ORDER BY seq",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    let mut expected = vec!["inventory_item.create"];
    expected.extend(["inventory_movement.create"; 5]);
    expected.extend([
        "inventory_item.update",
        "inventory_item.create",
        "inventory_item.delete",
    ]);
    expected.push("inventory_item.create");
    assert_eq!(audited, expected);
    let ledger: i64 = env
        .owner
        .query_one(
            "SELECT sum(quantity_delta)::bigint FROM inventory_movements WHERE item_id = $1",
            &[&id],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(ledger, 15);
    env.done().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_issues_never_take_stock_below_zero() {
    let Some(env) = env("inventory_concurrency", cheap_config()).await else {
        return;
    };
    env.user("st-mary", "phil", &[Role::Pharmacist]).await;
    let phil = env.login("st-mary", "phil").await;
    let id = new_item(&env, &phil, "SALINE", "ward-3", 0).await;
    let (status, _) =
        move_stock(&env, &phil, &id, json!({"kind": "receipt", "quantity": 30})).await;
    assert_eq!(status, StatusCode::CREATED);

    let uri = format!("{ITEMS}/{id}/movements");
    let tasks: Vec<_> = (0..45)
        .map(|_| {
            let (router, token, uri) = (env.router.clone(), phil.clone(), uri.clone());
            tokio::spawn(async move {
                let body = json!({"kind": "issue", "quantity": 1});
                crate::support::call(&router, Method::POST, &uri, Some(&token), Some(body)).await
            })
        })
        .collect();
    let mut after = Vec::new();
    let mut refused = 0;
    for t in tasks {
        let (status, b) = t.await.unwrap();
        match status {
            StatusCode::CREATED => after.push(b["on_hand"].as_i64().unwrap()),
            StatusCode::CONFLICT if code(&b) == "insufficient_stock" => refused += 1,
            other => panic!("{other} {b}"),
        }
    }
    after.sort_unstable();
    assert_eq!(
        after,
        (0..30).collect::<Vec<i64>>(),
        "each issue saw its own stock"
    );
    assert_eq!(refused, 15);
    assert_eq!(on_hand(&env, &phil, &id).await, 0);
    let movements: i64 = env
        .owner
        .query_one(
            "SELECT count(*) FROM inventory_movements WHERE item_id = $1",
            &[&id],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(movements, 31);
    env.done().await;
}

#[tokio::test]
async fn every_bad_field_is_named() {
    let Some(env) = env("inventory_validation", cheap_config()).await else {
        return;
    };
    env.user("st-mary", "phil", &[Role::Pharmacist]).await;
    let phil = env.login("st-mary", "phil").await;
    let id = new_item(&env, &phil, "SALINE", "ward-3", 0).await;
    let url = format!("{ITEMS}/{id}");
    let bad_item = json!({"sku": "no spaces", "name": "", "unit": "u".repeat(33),
                          "location_id": "", "reorder_level": -1});
    let (status, _, b) = send(&env, Method::POST, ITEMS, &phil, None, Some(bad_item)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        fields(&b),
        ["sku", "name", "unit", "location_id", "reorder_level"]
    );
    let (_, _, b) = send(
        &env,
        Method::POST,
        ITEMS,
        &phil,
        None,
        Some(json!({"reorder_level": "7"})),
    )
    .await;
    assert_eq!(
        fields(&b),
        ["sku", "name", "unit", "location_id", "reorder_level"]
    );

    let moves = format!("{url}/movements");
    for (body, named) in [
        (
            json!({"kind": "teleport", "quantity": 0, "lot": "", "expiry": "2027-02-30", "reason": ""}),
            vec!["kind", "quantity", "lot", "expiry", "reason"],
        ),
        (json!({}), vec!["kind"]),
        (
            json!({"kind": "adjustment", "quantity": 3}),
            vec!["quantity", "delta", "reason"],
        ),
        (
            json!({"kind": "adjustment", "delta": 0, "reason": "count"}),
            vec!["delta"],
        ),
        (
            json!({"kind": "issue", "delta": -1}),
            vec!["delta", "quantity"],
        ),
        (json!({"kind": "issue", "quantity": 2.5}), vec!["quantity"]),
        (
            json!({"kind": "receipt", "quantity": 1_000_000_001_i64}),
            vec!["quantity"],
        ),
        (json!({"kind": "disposal", "quantity": 1}), vec!["reason"]),
    ] {
        let (status, _, b) =
            send(&env, Method::POST, &moves, &phil, None, Some(body.clone())).await;
        assert_eq!(
            (status, fields(&b)),
            (StatusCode::BAD_REQUEST, named),
            "{body}"
        );
    }
    let change = json!({"name": "", "reorder_level": -3});
    let (status, _, b) = send(
        &env,
        Method::PATCH,
        &url,
        &phil,
        Some("\"v1\""),
        Some(change),
    )
    .await;
    assert_eq!(
        (status, fields(&b)),
        (StatusCode::BAD_REQUEST, vec!["name", "reorder_level"])
    );
    let q = "?cursor=zz&limit=0&location=no%20way&low=maybe";
    let (_, _, b) = send(&env, Method::GET, &format!("{ITEMS}{q}"), &phil, None, None).await;
    assert_eq!(fields(&b), ["cursor", "limit", "location", "low"]);
    let (_, _, b) = send(
        &env,
        Method::GET,
        &format!("{moves}?cursor=-4&limit=201"),
        &phil,
        None,
        None,
    )
    .await;
    assert_eq!(fields(&b), ["cursor", "limit"]);
    // Nothing of that reached the ledger or the item.
    assert_eq!(on_hand(&env, &phil, &id).await, 0);
    let (_, tag, _) = send(&env, Method::GET, &url, &phil, None, None).await;
    assert_eq!(tag.as_deref(), Some("\"v1\""));
    env.done().await;
}

#[tokio::test]
async fn nurses_issue_and_return_while_managers_receive_adjust_and_dispose() {
    let Some(env) = env("inventory_permissions", cheap_config()).await else {
        return;
    };
    env.user("st-mary", "phil", &[Role::Pharmacist]).await;
    env.user("st-mary", "nina", &[Role::Nurse]).await;
    env.user("st-mary", "carl", &[Role::ChargeNurse]).await;
    env.user("st-mary", "bea", &[Role::BiomedicalEngineer])
        .await;
    let phil = env.login("st-mary", "phil").await;
    let nina = env.login("st-mary", "nina").await;
    let carl = env.login("st-mary", "carl").await;
    let bea = env.login("st-mary", "bea").await;
    let id = new_item(&env, &phil, "SYRINGE-5", "ward-3", 2).await;
    let receipt = json!({"kind": "receipt", "quantity": 10});
    assert_eq!(
        move_stock(&env, &carl, &id, receipt.clone()).await.0,
        StatusCode::CREATED
    );

    assert_eq!(
        move_stock(&env, &nina, &id, json!({"kind": "issue", "quantity": 4}))
            .await
            .0,
        StatusCode::CREATED
    );
    assert_eq!(
        move_stock(&env, &nina, &id, json!({"kind": "return", "quantity": 1}))
            .await
            .0,
        StatusCode::CREATED
    );
    for body in [
        receipt,
        json!({"kind": "adjustment", "delta": 5, "reason": "count"}),
        json!({"kind": "disposal", "quantity": 1, "reason": "expired"}),
    ] {
        let (status, b) = move_stock(&env, &nina, &id, body.clone()).await;
        assert_eq!(
            (status, code(&b)),
            (StatusCode::FORBIDDEN, "forbidden"),
            "{body}"
        );
        assert!(
            b["detail"].as_str().unwrap().contains("manage stock"),
            "{b}"
        );
    }
    assert_eq!(
        on_hand(&env, &nina, &id).await,
        7,
        "the refusals changed nothing"
    );
    let denied: i64 = env
        .owner
        .query_one(
            "SELECT count(*) FROM audit_log WHERE event = 'access.denied'
             AND entity_id = 'inventory_movement.create'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(denied, 3);

    // A biomedical engineer reads stock but moves none; a nurse creates no item.
    assert_eq!(
        send(&env, Method::GET, ITEMS, &bea, None, None).await.0,
        StatusCode::OK
    );
    let issue = json!({"kind": "issue", "quantity": 1});
    assert_eq!(
        move_stock(&env, &bea, &id, issue).await.0,
        StatusCode::FORBIDDEN
    );
    let body =
        json!({"sku": "X", "name": "X", "unit": "box", "location_id": "w", "reorder_level": 0});
    assert_eq!(
        send(&env, Method::POST, ITEMS, &nina, None, Some(body))
            .await
            .0,
        StatusCode::FORBIDDEN
    );
    env.done().await;
}

#[tokio::test]
async fn another_site_reaches_no_item_by_any_route() {
    let Some(env) = env("inventory_tenancy", cheap_config()).await else {
        return;
    };
    env.user("st-mary", "phil", &[Role::Pharmacist]).await;
    env.user("st-john", "jo", &[Role::Pharmacist]).await;
    let phil = env.login("st-mary", "phil").await;
    let jo = env.login("st-john", "jo").await;
    let id = new_item(&env, &phil, "AMOX-500", "ward-3", 1).await;
    move_stock(&env, &phil, &id, json!({"kind": "receipt", "quantity": 5})).await;
    let url = format!("{ITEMS}/{id}");
    let moves = format!("{url}/movements");
    for (method, uri, body) in [
        (Method::GET, &url, None),
        (Method::PATCH, &url, Some(json!({"reorder_level": 9}))),
        (Method::DELETE, &url, None),
        (Method::GET, &moves, None),
        (
            Method::POST,
            &moves,
            Some(json!({"kind": "issue", "quantity": 1})),
        ),
        (
            Method::POST,
            &moves,
            Some(json!({"kind": "issue", "quantity": 50})),
        ),
        (
            Method::POST,
            &moves,
            Some(json!({"kind": "receipt", "quantity": 1})),
        ),
    ] {
        let (status, _, b) = send(&env, method.clone(), uri, &jo, Some("\"v2\""), body).await;
        assert_eq!(
            (status, code(&b)),
            (StatusCode::NOT_FOUND, "not_found"),
            "{method} {uri}"
        );
    }
    // Lists hold nothing of St Mary, whatever the filter or crafted cursor;
    // St Mary's SKU is free at St John.
    let before_id = "0".repeat(32);
    for q in [
        "",
        "?location=ward-3",
        "?low=true",
        &format!("?cursor={before_id}"),
    ] {
        let (_, _, b) = send(&env, Method::GET, &format!("{ITEMS}{q}"), &jo, None, None).await;
        assert_eq!(b["items"], json!([]), "{q}");
    }
    new_item(&env, &jo, "AMOX-500", "ward-3", 1).await;
    let (_, tag, b) = send(&env, Method::GET, &url, &phil, None, None).await;
    assert_eq!(
        (tag.as_deref(), &b["on_hand"], &b["reorder_level"]),
        (Some("\"v2\""), &json!(5), &json!(1))
    );
    let mut conn = env.core.pool.get().await.unwrap();
    let tx = dashboard_api::db::begin_tenant(conn.client(), &tenant("st-john"))
        .await
        .unwrap();
    let seen: i64 = tx
        .query_one("SELECT count(*) FROM inventory_movements", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(seen, 0, "row-level security hides St Mary's ledger");
    drop(tx);
    drop(conn);
    env.done().await;
}
