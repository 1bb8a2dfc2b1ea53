//! Stock items: create, list, read, change and soft-delete.
//!
//! An item starts with nothing on hand: stock enters by a receipt, so the
//! ledger explains every unit. Creation is therefore never a crossing to
//! low, even when the reorder level is above zero.

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio_postgres::{Row, Transaction};

use super::{crossed_low, deleted, identifier, item, publish_low, whole, Item, ITEM_COLUMNS};
use super::{Fields, MAX_ON_HAND};
use crate::api::core;
use crate::api::users::{etag, if_match, valid_id};
use crate::audit::{self, Action};
use crate::db::{begin_tenant, query};
use crate::http::{JsonBody, Principal};
use crate::problem::ApiError;
use crate::state::AppState;

pub(crate) fn with_etag(status: StatusCode, it: Item) -> Response {
    let tag = etag(it.version);
    let mut res = (status, Json(it)).into_response();
    res.headers_mut().insert(header::ETAG, tag);
    res
}

/// `POST /api/v1/inventory/items` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewItem {
    sku: Option<String>,
    name: Option<String>,
    unit: Option<String>,
    location_id: Option<String>,
    reorder_level: Option<Value>,
}

/// Creates an item with nothing on hand: 201 with `Location` and `ETag`;
/// 409 naming the SKU when a live item of the site has it.
pub async fn create(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    JsonBody(body): JsonBody<NewItem>,
) -> Result<Response, ApiError> {
    let mut f = Fields::default();
    let sku = identifier(&mut f, "sku", body.sku);
    let name = f.text("name", body.name, 1, 200);
    let unit = f.text("unit", body.unit, 1, 32);
    let location = identifier(&mut f, "location_id", body.location_id);
    if body.reorder_level.is_none() {
        f.bad("reorder_level", "is required");
    }
    let level = whole(
        &mut f,
        "reorder_level",
        body.reorder_level.as_ref(),
        0..=MAX_ON_HAND,
    );
    f.finish()?;
    let core = core(&state)?;
    let id = core
        .random(16)
        .map(|b| audit::hex(&b))
        .map_err(|_| ApiError::internal(&"random source failed"))?;
    let mut conn = core.pool.get().await?;
    let tx = begin_tenant(conn.client(), &who.tenant).await?;
    let row = tx
        .query_opt(
            &format!(
                "INSERT INTO inventory_items
                     (id, tenant_id, sku, name, unit, location_id, reorder_level)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)
                 ON CONFLICT (tenant_id, sku) WHERE deleted_at IS NULL DO NOTHING
                 RETURNING {ITEM_COLUMNS}"
            ),
            &[
                &id,
                &who.tenant.as_str(),
                &sku,
                &name,
                &unit,
                &location,
                &level.unwrap_or(0),
            ],
        )
        .await
        .map_err(query("create an inventory item"))?
        .ok_or_else(|| ApiError::conflict(format!("an item with sku {sku} exists")))?;
    let mut e = who.event(Action::C, "inventory_item.create", "inventory_item");
    e.entity_id = Some(id.clone());
    e.reason = Some(format!("sku {sku} at {location}"));
    audit::append(&tx, &e).await?;
    tx.commit().await.map_err(query("commit"))?;
    let mut res = with_etag(StatusCode::CREATED, item(&row));
    if let Ok(loc) = HeaderValue::from_str(&format!("/api/v1/inventory/items/{id}")) {
        res.headers_mut().insert(header::LOCATION, loc);
    }
    Ok(res)
}

/// Query of the list.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    cursor: Option<String>,
    limit: Option<String>,
    /// Only the items held at this location.
    location: Option<String>,
    /// `true`: only items at or below their reorder level.
    low: Option<String>,
}

/// A page of items.
#[derive(Debug, Serialize)]
pub struct ItemPage {
    items: Vec<Item>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_cursor: Option<String>,
}

/// `GET /api/v1/inventory/items[?location=][&low=true][&cursor=][&limit=]`:
/// live items in id order, 1 to 200 a page (default 50).
pub async fn list(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    q: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(q) = q.map_err(|e| ApiError::malformed(e.body_text()))?;
    let mut f = Fields::default();
    let after = f.id_cursor(q.cursor);
    let limit = f.limit(q.limit.as_deref(), 50, 200);
    if q.location
        .as_deref()
        .is_some_and(|l| !crate::api::is_identifier(l))
    {
        f.bad(
            "location",
            "must be 1 to 64 characters of A-Z, a-z, 0-9, '-', '_', '.'",
        );
    }
    let low = match q.low.as_deref() {
        None | Some("false") => false,
        Some("true") => true,
        Some(_) => {
            f.bad("low", "must be true or false");
            false
        }
    };
    f.finish()?;
    let core = core(&state)?;
    let mut conn = core.pool.get().await?;
    let tx = begin_tenant(conn.client(), &who.tenant).await?;
    let rows = tx
        .query(
            &format!(
                "SELECT {ITEM_COLUMNS} FROM inventory_items
                 WHERE deleted_at IS NULL AND ($1::text IS NULL OR id > $1)
                   AND ($2::text IS NULL OR location_id = $2)
                   AND (NOT $3 OR on_hand <= reorder_level)
                 ORDER BY id LIMIT $4"
            ),
            &[&after, &q.location, &low, &(limit + 1)],
        )
        .await
        .map_err(query("list inventory items"))?;
    // Stock is not patient data: reads are not audited.
    tx.commit().await.map_err(query("commit"))?;
    let keep = usize::try_from(limit).unwrap_or(0);
    let more = rows.len() > keep;
    let items: Vec<Item> = rows.iter().take(keep).map(item).collect();
    let next_cursor = more.then(|| items.last().map(|i| i.id.clone())).flatten();
    Ok(Json(ItemPage { items, next_cursor }).into_response())
}

/// The live item `id`: 404 when there is none, 410 once deleted.
pub(crate) async fn live_item(tx: &Transaction<'_>, id: &str, lock: bool) -> Result<Row, ApiError> {
    let lock = if lock { " FOR UPDATE" } else { "" };
    let row = tx
        .query_opt(
            &format!("SELECT {ITEM_COLUMNS} FROM inventory_items WHERE id = $1{lock}"),
            &[&id],
        )
        .await
        .map_err(query("read an inventory item"))?
        .ok_or_else(ApiError::not_found)?;
    if deleted(&row) {
        return Err(ApiError::gone());
    }
    Ok(row)
}

/// `GET /api/v1/inventory/items/{item_id}`: 410 once deleted.
pub async fn get(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    valid_id(&id)?;
    let core = core(&state)?;
    let mut conn = core.pool.get().await?;
    let tx = begin_tenant(conn.client(), &who.tenant).await?;
    let row = live_item(&tx, &id, false).await?;
    tx.commit().await.map_err(query("commit"))?;
    Ok(with_etag(StatusCode::OK, item(&row)))
}

/// `PATCH /api/v1/inventory/items/{item_id}` body: the fields to change.
/// Stock itself changes only by movements.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ItemChange {
    name: Option<String>,
    reorder_level: Option<Value>,
}

/// Changes an item's name or reorder level (If-Match). Raising the level
/// to or over the stock on hand announces the item as low.
pub async fn update(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<ItemChange>,
) -> Result<Response, ApiError> {
    valid_id(&id)?;
    let mut f = Fields::default();
    let name = body.name.map(|n| f.text("name", Some(n), 1, 200));
    let level = whole(
        &mut f,
        "reorder_level",
        body.reorder_level.as_ref(),
        0..=MAX_ON_HAND,
    );
    f.finish()?;
    let expected = if_match(&headers)?;
    let core = core(&state)?;
    let mut conn = core.pool.get().await?;
    let tx = begin_tenant(conn.client(), &who.tenant).await?;
    let before = item(&live_item(&tx, &id, true).await?);
    if before.version != expected {
        return Err(ApiError::precondition_failed());
    }
    let row = tx
        .query_one(
            &format!(
                "UPDATE inventory_items SET name = coalesce($2, name),
                        reorder_level = coalesce($3, reorder_level),
                        version = version + 1, updated_at = now()
                 WHERE id = $1 RETURNING {ITEM_COLUMNS}"
            ),
            &[&id, &name, &level],
        )
        .await
        .map_err(query("change an inventory item"))?;
    let after = item(&row);
    let mut e = who.event(Action::U, "inventory_item.update", "inventory_item");
    e.entity_id = Some(id);
    if before.reorder_level != after.reorder_level {
        e.reason = Some(format!(
            "reorder_level: {} -> {}",
            before.reorder_level, after.reorder_level
        ));
    }
    audit::append(&tx, &e).await?;
    tx.commit().await.map_err(query("commit"))?;
    if crossed_low(before.level(), after.level()) {
        publish_low(&core, &who.tenant, &after);
    }
    Ok(with_etag(StatusCode::OK, after))
}

/// Soft-deletes an item (If-Match): 204, then 410. Its ledger stays.
pub async fn delete(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<StatusCode, ApiError> {
    valid_id(&id)?;
    let core = core(&state)?;
    let mut conn = core.pool.get().await?;
    let tx = begin_tenant(conn.client(), &who.tenant).await?;
    // A deleted item answers 410 even without If-Match.
    let current = item(&live_item(&tx, &id, true).await?);
    if current.version != if_match(&headers)? {
        return Err(ApiError::precondition_failed());
    }
    tx.execute(
        "UPDATE inventory_items SET deleted_at = now(), version = version + 1,
                updated_at = now()
         WHERE id = $1",
        &[&id],
    )
    .await
    .map_err(query("delete an inventory item"))?;
    let mut e = who.event(Action::D, "inventory_item.delete", "inventory_item");
    e.entity_id = Some(id);
    e.reason = Some(format!("sku {}, on_hand {}", current.sku, current.on_hand));
    audit::append(&tx, &e).await?;
    tx.commit().await.map_err(query("commit"))?;
    Ok(StatusCode::NO_CONTENT)
}
