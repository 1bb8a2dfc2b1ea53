//! An item's ledger: recording a movement and reading the movements.
//!
//! A movement's body names its `kind` and how much it moves:
//!
//! - `receipt`, `return`: `quantity` units in (a positive integer);
//! - `issue`, `disposal`: `quantity` units out (a positive integer);
//! - `adjustment`: `delta`, a signed non-zero integer (a count that differs
//!   from the books), and no `quantity`.
//!
//! `reason` is required for adjustments and disposals. The route needs
//! [`Permission::InventoryIssue`]; every kind but issue and return also
//! needs [`Permission::InventoryManage`] (403 otherwise).
//!
//! The stock changes in one `UPDATE .. WHERE on_hand + delta >= 0
//! RETURNING`, so concurrent movements never take stock below zero and each
//! movement's `on_hand_after` is exact: a movement that would is refused
//! with 409 `insufficient_stock` and changes nothing.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio_postgres::{Row, Transaction};

use super::items::live_item;
use super::{crossed_low, item, publish_low, whole, Fields, Item, ITEM_COLUMNS};
use super::{MAX_MOVEMENT, MAX_ON_HAND};
use crate::api::core;
use crate::api::users::valid_id;
use crate::audit::{self, Action, Outcome};
use crate::db::{begin_tenant, query};
use crate::http::{JsonBody, Principal};
use crate::problem::ApiError;
use crate::roles::{best_access, Access, Permission};
use crate::state::AppState;
use crate::time::rfc3339;

/// The kinds of movement, as on the wire and in the database.
const KINDS: [&str; 5] = ["receipt", "issue", "return", "adjustment", "disposal"];

/// A movement as the API shows it.
#[derive(Debug, Serialize)]
pub struct Movement {
    id: String,
    item_id: String,
    kind: String,
    /// Signed: positive into stock, negative out of it.
    quantity_delta: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    lot: Option<String>,
    /// `YYYY-MM-DD`.
    #[serde(skip_serializing_if = "Option::is_none")]
    expiry: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
    on_hand_after: i64,
    at: String,
    /// The user who recorded it.
    by: String,
}

const MOVEMENT_COLUMNS: &str =
    "id, item_id, kind, quantity_delta, lot, expiry::text, reason, on_hand_after, at, actor_id, seq";

fn movement(r: &Row) -> Movement {
    Movement {
        id: r.get(0),
        item_id: r.get(1),
        kind: r.get(2),
        quantity_delta: r.get(3),
        lot: r.get(4),
        expiry: r.get(5),
        reason: r.get(6),
        on_hand_after: r.get(7),
        at: rfc3339(r.get(8)),
        by: r.get(9),
    }
}

/// `POST /api/v1/inventory/items/{item_id}/movements` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewMovement {
    kind: Option<String>,
    /// Units, for every kind but adjustment.
    quantity: Option<Value>,
    /// Signed units, for adjustments only.
    delta: Option<Value>,
    lot: Option<String>,
    /// `YYYY-MM-DD`.
    expiry: Option<String>,
    reason: Option<String>,
}

/// A checked movement body.
struct Checked {
    kind: &'static str,
    delta: i64,
    lot: Option<String>,
    expiry: Option<String>,
    reason: Option<String>,
}

/// Whether `s` is a calendar date `YYYY-MM-DD` of the years 1900 to 9999.
fn is_date(s: &str) -> bool {
    let b = s.as_bytes();
    let digits = b.len() == 10
        && b.iter().enumerate().all(|(i, c)| {
            if matches!(i, 4 | 7) {
                *c == b'-'
            } else {
                c.is_ascii_digit()
            }
        });
    let num = |r: std::ops::Range<usize>| s.get(r).and_then(|p| p.parse::<u32>().ok());
    let (true, Some(y), Some(m), Some(d)) = (digits, num(0..4), num(5..7), num(8..10)) else {
        return false;
    };
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let days = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    y >= 1900 && (1..=days).contains(&d)
}

/// Checks every field, naming each bad one.
fn check(body: NewMovement) -> Result<Checked, ApiError> {
    let mut f = Fields::default();
    let kind = match body.kind.as_deref() {
        None => {
            f.bad("kind", "is required");
            None
        }
        Some(k) => {
            let found = KINDS.into_iter().find(|&x| x == k);
            if found.is_none() {
                f.bad(
                    "kind",
                    "must be receipt, issue, return, adjustment or disposal",
                );
            }
            found
        }
    };
    let adjustment = kind == Some("adjustment");
    let amount = if adjustment {
        if body.quantity.is_some() {
            f.bad("quantity", "is not used by an adjustment: send delta");
        }
        let d = whole(
            &mut f,
            "delta",
            body.delta.as_ref(),
            -MAX_MOVEMENT..=MAX_MOVEMENT,
        );
        match (body.delta.is_some(), d) {
            (false, _) => f.bad("delta", "is required for an adjustment"),
            (true, Some(0)) => f.bad("delta", "must not be zero"),
            _ => {}
        }
        d
    } else {
        if body.delta.is_some() {
            f.bad("delta", "is used only by an adjustment: send quantity");
        }
        if body.quantity.is_none() && kind.is_some() {
            f.bad("quantity", "is required");
        }
        whole(&mut f, "quantity", body.quantity.as_ref(), 1..=MAX_MOVEMENT)
    };
    let lot = body.lot.map(|l| f.text("lot", Some(l), 1, 64));
    if body.expiry.as_deref().is_some_and(|e| !is_date(e)) {
        f.bad("expiry", "must be a date YYYY-MM-DD");
    }
    let needs_reason = matches!(kind, Some("adjustment" | "disposal"));
    if body.reason.is_none() && needs_reason {
        f.bad("reason", "is required for an adjustment or a disposal");
    }
    let reason = body.reason.map(|r| f.text("reason", Some(r), 1, 500));
    f.finish()?;
    let kind = kind.unwrap_or("receipt");
    let amount = amount.unwrap_or(0);
    Ok(Checked {
        kind,
        delta: if matches!(kind, "issue" | "disposal") {
            -amount
        } else {
            amount
        },
        lot,
        expiry: body.expiry,
        reason,
    })
}

/// Refuses kinds other than issue and return to callers who may not manage
/// stock, and records the refusal like the route check does.
async fn may_record(
    core: &crate::core::ApiCore,
    who: &Principal,
    kind: &str,
) -> Result<(), ApiError> {
    if matches!(kind, "issue" | "return")
        || best_access(&who.roles, Permission::InventoryManage) == Access::Allow
    {
        return Ok(());
    }
    let mut e = who.event(Action::E, "access.denied", "route");
    e.entity_id = Some("inventory_movement.create".to_owned());
    e.outcome = Outcome::MinorFailure;
    e.reason = Some(format!("role: {kind} needs InventoryManage"));
    core.audit_read(e).await?;
    Err(ApiError::forbidden().with_detail(format!(
        "recording a {kind} needs permission to manage stock; issues and returns do not"
    )))
}

/// Applies `delta` to the live item `id` in one statement; the item after.
async fn apply(tx: &Transaction<'_>, id: &str, delta: i64) -> Result<Item, ApiError> {
    let row = tx
        .query_opt(
            &format!(
                "UPDATE inventory_items
                 SET on_hand = on_hand + $2, version = version + 1, updated_at = now()
                 WHERE id = $1 AND deleted_at IS NULL AND on_hand + $2 BETWEEN 0 AND $3
                 RETURNING {ITEM_COLUMNS}"
            ),
            &[&id, &delta, &MAX_ON_HAND],
        )
        .await
        .map_err(query("move stock"))?;
    if let Some(row) = row {
        return Ok(item(&row));
    }
    // Nothing changed: say why.
    let on_hand = item(&live_item(tx, id, false).await?).on_hand;
    if on_hand + delta < 0 {
        Err(ApiError::insufficient_stock(on_hand, -delta))
    } else {
        Err(ApiError::conflict(format!(
            "on_hand is {on_hand}; the movement would take it over {MAX_ON_HAND}"
        )))
    }
}

/// The answer to a recorded movement.
#[derive(Debug, Serialize)]
pub struct Recorded {
    movement: Movement,
    /// The item's stock after the movement.
    on_hand: i64,
}

/// Records a movement: 201 with the movement and the new on_hand; 409
/// `insufficient_stock` naming on_hand when it would take out more than
/// there is.
pub async fn record(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    Path(item_id): Path<String>,
    JsonBody(body): JsonBody<NewMovement>,
) -> Result<Response, ApiError> {
    valid_id(&item_id)?;
    let m = check(body)?;
    let core = core(&state)?;
    may_record(&core, &who, m.kind).await?;
    let id = core
        .random(16)
        .map(|b| audit::hex(&b))
        .map_err(|_| ApiError::internal(&"random source failed"))?;
    let mut conn = core.pool.get().await?;
    let tx = begin_tenant(conn.client(), &who.tenant).await?;
    let after = apply(&tx, &item_id, m.delta).await?;
    let row = tx
        .query_one(
            &format!(
                "INSERT INTO inventory_movements (id, tenant_id, item_id, kind, quantity_delta,
                     lot, expiry, reason, on_hand_after, actor_id)
                 VALUES ($1, $2, $3, $4, $5, $6, CAST($7::text AS date), $8, $9, $10)
                 RETURNING {MOVEMENT_COLUMNS}"
            ),
            &[
                &id,
                &who.tenant.as_str(),
                &item_id,
                &m.kind,
                &m.delta,
                &m.lot,
                &m.expiry,
                &m.reason,
                &after.on_hand,
                &who.user_id,
            ],
        )
        .await
        .map_err(query("record a movement"))?;
    let mut e = who.event(Action::C, "inventory_movement.create", "inventory_item");
    e.entity_id = Some(item_id);
    e.reason = Some(format!("{} {:+}", m.kind, m.delta));
    audit::append(&tx, &e).await?;
    tx.commit().await.map_err(query("commit"))?;
    let mut before = after.level();
    before.on_hand -= m.delta;
    if crossed_low(before, after.level()) {
        publish_low(&core, &who.tenant, &after);
    }
    let body = Recorded {
        movement: movement(&row),
        on_hand: after.on_hand,
    };
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

/// Query of the ledger.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    cursor: Option<String>,
    limit: Option<String>,
}

/// A page of movements, newest first.
#[derive(Debug, Serialize)]
pub struct MovementPage {
    items: Vec<Movement>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_cursor: Option<String>,
}

/// `GET /api/v1/inventory/items/{item_id}/movements[?cursor=][&limit=]`:
/// the item's ledger, newest first, 1 to 200 a page (default 50).
pub async fn list(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    Path(item_id): Path<String>,
    q: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    valid_id(&item_id)?;
    let Query(q) = q.map_err(|e| ApiError::malformed(e.body_text()))?;
    let mut f = Fields::default();
    // The cursor is the position of the last movement of the previous page.
    let before = q.cursor.and_then(|c| {
        let n = c.parse::<i64>().ok().filter(|n| *n > 0);
        if n.is_none() {
            f.bad("cursor", "is not a cursor this API issued");
        }
        n
    });
    let limit = f.limit(q.limit.as_deref(), 50, 200);
    f.finish()?;
    let core = core(&state)?;
    let mut conn = core.pool.get().await?;
    let tx = begin_tenant(conn.client(), &who.tenant).await?;
    live_item(&tx, &item_id, false).await?;
    let rows = tx
        .query(
            &format!(
                "SELECT {MOVEMENT_COLUMNS} FROM inventory_movements
                 WHERE item_id = $1 AND ($2::bigint IS NULL OR seq < $2)
                 ORDER BY seq DESC LIMIT $3"
            ),
            &[&item_id, &before, &(limit + 1)],
        )
        .await
        .map_err(query("list movements"))?;
    // Stock is not patient data: reads are not audited.
    tx.commit().await.map_err(query("commit"))?;
    let keep = usize::try_from(limit).unwrap_or(0);
    let more = rows.len() > keep;
    let next_cursor = more
        .then(|| rows.get(keep.wrapping_sub(1)))
        .flatten()
        .map(|r| r.get::<_, i64>(10).to_string());
    let items = rows.iter().take(keep).map(movement).collect();
    Ok(Json(MovementPage { items, next_cursor }).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiry_dates_are_calendar_dates() {
        for ok in ["2027-02-28", "2028-02-29", "1900-01-01", "9999-12-31"] {
            assert!(is_date(ok), "{ok}");
        }
        for bad in [
            "2027-02-29",
            "2027-13-01",
            "1899-12-31",
            "2027-1-01",
            "+027-01-01",
            "2027-01-0x",
            "2027/01/01",
            "2027501201",
            "",
        ] {
            assert!(!is_date(bad), "{bad}");
        }
    }
}
