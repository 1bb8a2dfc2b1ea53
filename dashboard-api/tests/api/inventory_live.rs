//! `inventory:stock:low` on the live socket: once per fall to the reorder
//! level, to the site's stock managers only.

use std::time::Duration;

use axum::http::{Method, StatusCode};
use dashboard_api::roles::Role;
use serde_json::{json, Value};

use crate::inventory::{move_stock, new_item, ITEMS};
use crate::live::{connect, marker, next_json, serve, Socket};
use crate::support::{cheap_config, env, send};

/// The next frame, bounded so a missing event fails instead of hanging.
async fn frame(ws: &mut Socket) -> Value {
    tokio::time::timeout(Duration::from_secs(10), next_json(ws))
        .await
        .expect("a frame within 10 s")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stock_managers_hear_once_when_stock_falls_to_its_reorder_level() {
    let Some(env) = env("inventory_live", cheap_config()).await else {
        return;
    };
    let phil_id = env.user("st-mary", "phil", &[Role::Pharmacist]).await;
    let nina_id = env.user("st-mary", "nina", &[Role::Nurse]).await;
    env.user("st-john", "jo", &[Role::Pharmacist]).await;
    let phil = env.login("st-mary", "phil").await;
    let nina = env.login("st-mary", "nina").await;
    let jo = env.login("st-john", "jo").await;
    let addr = serve(&env).await;
    let mut phil_ws = connect(addr, Some(&phil)).await.unwrap();
    let mut nina_ws = connect(addr, Some(&nina)).await.unwrap();
    let mut jo_ws = connect(addr, Some(&jo)).await.unwrap();

    let a = new_item(&env, &phil, "AMOX-500", "ward-3", 5).await;
    let b = new_item(&env, &phil, "GAUZE", "ward-3", 2).await;
    for id in [&a, &b] {
        let (status, _) =
            move_stock(&env, &phil, id, json!({"kind": "receipt", "quantity": 10})).await;
        assert_eq!(status, StatusCode::CREATED);
    }
    // 10 -> 6 stays above the level, 6 -> 5 reaches it, 5 -> 4 is already low.
    for q in [4, 1, 1] {
        let (status, _) =
            move_stock(&env, &nina, &a, json!({"kind": "issue", "quantity": q})).await;
        assert_eq!(status, StatusCode::CREATED);
    }
    // Raising B's level to its stock makes it low.
    let (status, _, _) = send(
        &env,
        Method::PATCH,
        &format!("{ITEMS}/{b}"),
        &phil,
        Some("\"v2\""),
        Some(json!({"reorder_level": 10})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);

    let first = frame(&mut phil_ws).await;
    assert_eq!(first["event"], "inventory:stock:low", "{first}");
    assert_eq!(
        first["data"],
        json!({"item_id": a, "sku": "AMOX-500", "name": "AMOX-500 name", "location_id": "ward-3",
               "on_hand": 5, "reorder_level": 5, "unit": "vial"})
    );
    // The next frame is B's: the issue below the level was not announced.
    let second = frame(&mut phil_ws).await;
    assert_eq!(
        (
            &second["event"],
            &second["data"]["item_id"],
            &second["data"]["on_hand"]
        ),
        (&json!("inventory:stock:low"), &json!(b), &json!(10))
    );

    // St John's own crossing is the first stock event its pharmacist hears.
    let c = new_item(&env, &jo, "SALINE", "ward-1", 1).await;
    move_stock(&env, &jo, &c, json!({"kind": "receipt", "quantity": 3})).await;
    move_stock(&env, &jo, &c, json!({"kind": "issue", "quantity": 2})).await;
    let theirs = frame(&mut jo_ws).await;
    assert_eq!(
        (&theirs["event"], &theirs["data"]["item_id"]),
        (&json!("inventory:stock:low"), &json!(c))
    );

    // The nurse cannot manage stock: the first frame she gets is the marker
    // published after everything above, and St John's event never reached
    // St Mary's pharmacist.
    marker(&env, "st-mary", &nina_id);
    marker(&env, "st-mary", &phil_id);
    assert_eq!(
        frame(&mut nina_ws).await["data"],
        json!({"marker": nina_id})
    );
    assert_eq!(
        frame(&mut phil_ws).await["data"],
        json!({"marker": phil_id})
    );
    env.done().await;
}
