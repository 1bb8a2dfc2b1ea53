//! `/api/v1/inventory`: ward stock of supplies and medicines.
//!
//! An item is one SKU held at one location (a ward or a store) with a
//! quantity on hand and a reorder level; every change of the quantity is a
//! movement of the item's append-only ledger ([`movements`]). Items carry a
//! version as a strong `ETag`: changes and deletion need `If-Match` (428
//! without, 412 when stale), and every movement raises the version too,
//! since it changes what the item shows. Deletion is soft: reads, changes
//! and movements answer 410 afterwards and the SKU is free again.
//!
//! Stock is not patient data: writes are audited, reads are not.
//!
//! When a change takes an item from above its reorder level to at or below
//! it ([`crossed_low`]), `inventory:stock:low` is published after the commit
//! to the site's connections allowed [`Permission::InventoryManage`]. The
//! event is a prompt, not a record: a client connecting later finds low
//! items with `GET /api/v1/inventory/items?low=true`.

pub mod items;
pub mod movements;

use serde::Serialize;
use serde_json::{json, Value};
use tokio_postgres::Row;

use super::Fields;
use crate::core::ApiCore;
use crate::events::{Audience, EventName, ModuleEvent};
use crate::roles::Permission;
use crate::tenant::TenantId;
use crate::time::rfc3339;

/// The most one movement may move, in units.
pub const MAX_MOVEMENT: i64 = 1_000_000_000;

/// The most an item may hold, and the highest reorder level, in units.
pub const MAX_ON_HAND: i64 = 1_000_000_000_000;

/// An item as the API shows it.
#[derive(Debug, Serialize)]
pub struct Item {
    id: String,
    sku: String,
    name: String,
    unit: String,
    location_id: String,
    on_hand: i64,
    reorder_level: i64,
    /// Whether on_hand is at or below reorder_level.
    low: bool,
    version: i32,
    created_at: String,
    updated_at: String,
}

/// The columns [`item`] reads; the last one says whether the item is deleted.
pub(crate) const ITEM_COLUMNS: &str = "id, sku, name, unit, location_id, on_hand, reorder_level,
     version, created_at, updated_at, deleted_at IS NOT NULL";

pub(crate) fn item(r: &Row) -> Item {
    let on_hand: i64 = r.get(5);
    let reorder_level: i64 = r.get(6);
    Item {
        id: r.get(0),
        sku: r.get(1),
        name: r.get(2),
        unit: r.get(3),
        location_id: r.get(4),
        on_hand,
        reorder_level,
        low: Level {
            on_hand,
            reorder_level,
        }
        .is_low(),
        version: r.get(7),
        created_at: rfc3339(r.get(8)),
        updated_at: rfc3339(r.get(9)),
    }
}

/// Whether the row read with [`ITEM_COLUMNS`] is soft-deleted.
pub(crate) fn deleted(r: &Row) -> bool {
    r.get(10)
}

impl Item {
    pub(crate) fn level(&self) -> Level {
        Level {
            on_hand: self.on_hand,
            reorder_level: self.reorder_level,
        }
    }
}

/// An item's stock against its reorder level.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Level {
    /// Units on hand.
    pub on_hand: i64,
    /// The level at or below which the item is low.
    pub reorder_level: i64,
}

impl Level {
    /// Whether the item is low: on hand at or below the reorder level.
    pub fn is_low(self) -> bool {
        self.on_hand <= self.reorder_level
    }
}

/// Whether a change from `before` to `after` makes the item low: it was
/// above its reorder level and is now at or below it, by a movement or by a
/// raised reorder level. Staying low, or becoming low at creation, is no
/// crossing, so each fall is announced once.
pub fn crossed_low(before: Level, after: Level) -> bool {
    !before.is_low() && after.is_low()
}

/// Announces that `it` crossed to low, to the site's stock managers. Call
/// after the change committed.
pub(crate) fn publish_low(core: &ApiCore, tenant: &TenantId, it: &Item) {
    tracing::info!(item_id = %it.id, on_hand = it.on_hand, reorder_level = it.reorder_level,
        "Inventory item fell to its reorder level");
    core.events.publish(ModuleEvent {
        tenant: tenant.clone(),
        name: EventName::InventoryStockLow,
        audience: Audience::Permission(Permission::InventoryManage),
        data: json!({
            "item_id": it.id, "sku": it.sku, "name": it.name, "location_id": it.location_id,
            "on_hand": it.on_hand, "reorder_level": it.reorder_level, "unit": it.unit,
        }),
    });
}

/// An optional whole number of `range`, taken from JSON so that a wrong
/// type is named like any other bad field.
pub(crate) fn whole(
    f: &mut Fields,
    field: &str,
    v: Option<&Value>,
    range: std::ops::RangeInclusive<i64>,
) -> Option<i64> {
    let v = v?;
    match v.as_i64() {
        Some(n) if range.contains(&n) => Some(n),
        _ => {
            let (lo, hi) = (range.start(), range.end());
            f.bad(field, &format!("must be an integer from {lo} to {hi}"));
            None
        }
    }
}

/// An identifier field (SKU, location): 1 to 64 of A-Z, a-z, 0-9, `-_.`.
pub(crate) fn identifier(f: &mut Fields, field: &str, v: Option<String>) -> String {
    let s = f.text(field, v, 1, 64);
    if !s.is_empty() && !super::is_identifier(&s) {
        f.bad(
            field,
            "must be 1 to 64 characters of A-Z, a-z, 0-9, '-', '_', '.'",
        );
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(on_hand: i64, reorder_level: i64) -> Level {
        Level {
            on_hand,
            reorder_level,
        }
    }

    #[test]
    fn a_fall_to_or_through_the_level_is_a_crossing() {
        assert!(crossed_low(at(6, 5), at(5, 5)), "to the level");
        assert!(crossed_low(at(20, 5), at(0, 5)), "through it");
        assert!(crossed_low(at(1, 0), at(0, 0)), "to zero at level zero");
    }

    #[test]
    fn staying_low_or_rising_is_no_crossing() {
        assert!(!crossed_low(at(5, 5), at(4, 5)), "already at the level");
        assert!(!crossed_low(at(0, 5), at(10, 5)), "a receipt");
        assert!(!crossed_low(at(10, 5), at(9, 5)), "still above");
        assert!(!crossed_low(at(3, 5), at(3, 5)), "no change");
    }

    #[test]
    fn raising_the_level_over_on_hand_is_a_crossing() {
        assert!(crossed_low(at(8, 5), at(8, 8)), "raised to on_hand");
        assert!(crossed_low(at(8, 5), at(8, 20)), "raised past it");
        assert!(!crossed_low(at(8, 5), at(8, 7)), "still below on_hand");
        assert!(!crossed_low(at(4, 5), at(4, 9)), "was low already");
        assert!(!crossed_low(at(4, 5), at(4, 1)), "lowered");
    }
}
