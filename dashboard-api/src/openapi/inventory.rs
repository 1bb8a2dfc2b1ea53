//! The inventory routes' operations and schemas.

use serde_json::{json, Value};

use super::{int, object, ok, path, query, r, string, Operation, BED, USER_ID};
use crate::api::inventory::{MAX_MOVEMENT, MAX_ON_HAND};
use crate::routes::Route;

fn if_match() -> Value {
    json!({"name": "If-Match", "in": "header", "required": false, "schema": string()})
}

fn page_params(cursor: Value) -> Vec<Value> {
    vec![
        query("cursor", cursor, false),
        query(
            "limit",
            json!({"type": "integer", "minimum": 1, "maximum": 200}),
            false,
        ),
    ]
}

/// What the handler of an inventory route takes and returns on success.
pub(super) fn operation(route: &Route) -> Option<Operation> {
    let j = "application/json";
    let item = || path("item_id", USER_ID);
    Some(match (route.method.as_str(), route.path) {
        ("GET", "/api/v1/inventory/items") => {
            let mut params = page_params(json!({"type": "string", "pattern": USER_ID}));
            params.push(query(
                "location",
                json!({"type": "string", "pattern": BED}),
                false,
            ));
            params.push(query("low", json!({"enum": ["true", "false"]}), false));
            (
                "List stock items (of a location; only low ones with low=true)",
                params,
                None,
                ok("200", j, r("InventoryItemPage")),
            )
        }
        ("POST", "/api/v1/inventory/items") => (
            "Create a stock item with nothing on hand",
            vec![],
            Some(r("NewInventoryItem")),
            ok("201", j, r("InventoryItem")),
        ),
        ("GET", "/api/v1/inventory/items/{item_id}") => (
            "Read a stock item",
            vec![item()],
            None,
            ok("200", j, r("InventoryItem")),
        ),
        ("PATCH", "/api/v1/inventory/items/{item_id}") => (
            "Change a stock item's name or reorder level (If-Match required)",
            vec![item(), if_match()],
            Some(r("InventoryItemChange")),
            ok("200", j, r("InventoryItem")),
        ),
        ("DELETE", "/api/v1/inventory/items/{item_id}") => (
            "Delete a stock item (soft; If-Match required)",
            vec![item(), if_match()],
            None,
            ("204".to_owned(), json!({"description": "Deleted"})),
        ),
        ("GET", "/api/v1/inventory/items/{item_id}/movements") => {
            let mut params = vec![item()];
            params.extend(page_params(
                json!({"type": "string", "pattern": "^[1-9][0-9]{0,17}$"}),
            ));
            (
                "An item's movements, newest first",
                params,
                None,
                ok("200", j, r("InventoryMovementPage")),
            )
        }
        ("POST", "/api/v1/inventory/items/{item_id}/movements") => (
            "Record a movement: quantity for receipt, issue, return and disposal, \
             a signed delta for adjustment; all but issue and return need InventoryManage",
            vec![item()],
            Some(r("NewInventoryMovement")),
            ok("201", j, r("InventoryMovementRecorded")),
        ),
        _ => return None,
    })
}

/// The inventory components.
pub(super) fn schemas() -> Value {
    let text = |max: u32| json!({"type": "string", "minLength": 1, "maxLength": max});
    let level = json!({"type": "integer", "minimum": 0, "maximum": MAX_ON_HAND});
    let kind = json!({"enum": ["receipt", "issue", "return", "adjustment", "disposal"]});
    json!({
        "InventoryItem": object(json!({"id": string(), "sku": string(), "name": string(), "unit": string(),
            "location_id": string(), "on_hand": int(), "reorder_level": int(), "low": {"type": "boolean"},
            "version": int(), "created_at": string(), "updated_at": string()}),
            &["id", "sku", "name", "unit", "location_id", "on_hand", "reorder_level", "low", "version",
              "created_at", "updated_at"]),
        "InventoryItemPage": object(json!({"items": {"type": "array", "items": r("InventoryItem")},
            "next_cursor": string()}), &["items"]),
        "NewInventoryItem": object(json!({"sku": {"type": "string", "pattern": BED}, "name": text(200),
            "unit": text(32), "location_id": {"type": "string", "pattern": BED}, "reorder_level": level}),
            &["sku", "name", "unit", "location_id", "reorder_level"]),
        "InventoryItemChange": object(json!({"name": text(200), "reorder_level": level}), &[]),
        "NewInventoryMovement": object(json!({"kind": kind,
            "quantity": {"type": "integer", "minimum": 1, "maximum": MAX_MOVEMENT},
            "delta": {"type": "integer", "minimum": -MAX_MOVEMENT, "maximum": MAX_MOVEMENT},
            "lot": text(64), "expiry": {"type": "string", "format": "date"}, "reason": text(500)}),
            &["kind"]),
        "InventoryMovement": object(json!({"id": string(), "item_id": string(), "kind": kind,
            "quantity_delta": int(), "lot": string(), "expiry": {"type": "string", "format": "date"},
            "reason": string(), "on_hand_after": int(), "at": string(), "by": string()}),
            &["id", "item_id", "kind", "quantity_delta", "on_hand_after", "at", "by"]),
        "InventoryMovementRecorded": object(json!({"movement": r("InventoryMovement"), "on_hand": int()}),
            &["movement", "on_hand"]),
        "InventoryMovementPage": object(json!({"items": {"type": "array", "items": r("InventoryMovement")},
            "next_cursor": string()}), &["items"]),
    })
}
