-- Webhook delivery attempts: one row per attempt, so an operator can see
-- which pager or phone system got which alarm event, when, and why not.
CREATE TABLE webhook_deliveries (
    time        timestamptz      NOT NULL,
    tenant_id   text COLLATE "C" NOT NULL,
    endpoint    text COLLATE "C" NOT NULL,
    event_id    text COLLATE "C" NOT NULL,
    attempt     integer          NOT NULL,
    -- delivered, retrying, gave_up
    outcome     text             NOT NULL,
    http_status integer,
    error       text
);

SELECT create_hypertable(
    'webhook_deliveries', 'time',
    chunk_time_interval => INTERVAL '7 days',
    create_default_indexes => false
);

CREATE INDEX webhook_deliveries_event ON webhook_deliveries (event_id, time DESC);
