-- Ward stock of supplies and medicines, isolated per tenant by row-level
-- security like the tables of 2002.
--
-- An item is one stock-keeping unit held at one location (a ward or a
-- store): its on-hand quantity in whole units and the reorder level at or
-- below which it counts as low. Every change of on_hand is a row of the
-- append-only ledger `inventory_movements`, written in the same transaction
-- as the change, so the ledger of an item explains its on_hand: the newest
-- movement's on_hand_after equals the item's on_hand.
--
-- Items are soft-deleted (deleted_at set): the row and its ledger stay, and
-- the SKU becomes free for a new live item of the tenant.
CREATE TABLE inventory_items (
    id            text COLLATE "C" PRIMARY KEY CHECK (id ~ '^[0-9a-f]{32}$'),
    tenant_id     text COLLATE "C" NOT NULL REFERENCES tenants (id),
    sku           text COLLATE "C" NOT NULL,
    name          text        NOT NULL,
    -- The unit counted, such as "vial" or "box".
    unit          text        NOT NULL,
    -- The ward or store holding the stock.
    location_id   text COLLATE "C" NOT NULL,
    on_hand       bigint      NOT NULL DEFAULT 0 CHECK (on_hand >= 0),
    reorder_level bigint      NOT NULL CHECK (reorder_level >= 0),
    -- The ETag; raised by every change, movements included.
    version       integer     NOT NULL DEFAULT 1,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    deleted_at    timestamptz,
    UNIQUE (tenant_id, id)
);
CREATE UNIQUE INDEX inventory_items_live_sku
    ON inventory_items (tenant_id, sku) WHERE deleted_at IS NULL;
CREATE INDEX inventory_items_location
    ON inventory_items (tenant_id, location_id, id) WHERE deleted_at IS NULL;

-- Receipts and returns add stock, issues and disposals take it out, an
-- adjustment (a count that differs from the books) goes either way.
CREATE TABLE inventory_movements (
    -- Insertion order; an item's movements are serialised by the lock its
    -- stock update takes, so per item this is also commit order.
    seq            bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
    id             text COLLATE "C" PRIMARY KEY CHECK (id ~ '^[0-9a-f]{32}$'),
    tenant_id      text COLLATE "C" NOT NULL,
    item_id        text COLLATE "C" NOT NULL,
    kind           text NOT NULL
        CHECK (kind IN ('receipt', 'issue', 'return', 'adjustment', 'disposal')),
    quantity_delta bigint NOT NULL CHECK (
        quantity_delta <> 0
        AND (kind NOT IN ('receipt', 'return') OR quantity_delta > 0)
        AND (kind NOT IN ('issue', 'disposal') OR quantity_delta < 0)
    ),
    lot            text,
    expiry         date,
    reason         text CHECK (kind NOT IN ('adjustment', 'disposal') OR reason IS NOT NULL),
    on_hand_after  bigint      NOT NULL CHECK (on_hand_after >= 0),
    at             timestamptz NOT NULL DEFAULT now(),
    -- The user who recorded it.
    actor_id       text COLLATE "C" NOT NULL,
    -- The item of the same tenant: a movement cannot point across tenants.
    FOREIGN KEY (tenant_id, item_id) REFERENCES inventory_items (tenant_id, id)
);
CREATE INDEX inventory_movements_item ON inventory_movements (tenant_id, item_id, seq);

SELECT isolate_by_tenant('inventory_items');
SELECT isolate_by_tenant('inventory_movements');

-- Items are changed and soft-deleted, never removed; the ledger is only
-- appended to.
GRANT SELECT, INSERT, UPDATE ON inventory_items TO healthsphere_api;
GRANT SELECT, INSERT ON inventory_movements TO healthsphere_api;
