-- The alarm log: every alarm transition and every clinician change that
-- alarms depend on (limit overrides, manual NEWS2 observations), with time
-- and actor. One row per event; `event_id` is unique per gateway process and
-- event, so a retried insert is absorbed by the unique index.
--
-- Chunks of 7 days: a ward produces a few thousand rows a day, so one chunk
-- stays small; history queries are by bed and time range.
CREATE TABLE alarm_events (
    time              timestamptz      NOT NULL,
    event_id          text COLLATE "C" NOT NULL,
    tenant_id         text COLLATE "C" NOT NULL,
    bed_id            text COLLATE "C" NOT NULL,
    rule_id           text COLLATE "C" NOT NULL,
    occurrence        integer          NOT NULL,
    -- physiological, news2, technical, device; audit for clinician changes.
    class             text             NOT NULL,
    -- low, medium, high; NULL for audit rows.
    priority          text,
    -- raised, acknowledged, silenced, ..., resolved, escalation_*;
    -- limits_changed, limits_cleared, consciousness, oxygen, spo2_scale.
    change            text             NOT NULL,
    -- The alarm state after the change; NULL for audit rows.
    state             text,
    -- system, or the staff identifier.
    actor             text             NOT NULL,
    condition_present boolean,
    message           text             NOT NULL DEFAULT '',
    detail            jsonb            NOT NULL DEFAULT '{}'
);

SELECT create_hypertable(
    'alarm_events', 'time',
    chunk_time_interval => INTERVAL '7 days',
    create_default_indexes => false
);

CREATE UNIQUE INDEX alarm_events_event_key ON alarm_events (event_id, time);
CREATE INDEX alarm_events_bed_time ON alarm_events (tenant_id, bed_id, time DESC);
