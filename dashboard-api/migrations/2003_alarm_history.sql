-- The API reads the alarm log (written by the alerting store as the owner)
-- under its non-owner role; the policy binds that role to the request's
-- tenant, as for vitals.
ALTER TABLE alarm_events ENABLE ROW LEVEL SECURITY;
CREATE POLICY api_tenant_isolation ON alarm_events TO healthsphere_api
    USING (tenant_id = current_setting('app.tenant_id', true));
GRANT SELECT ON alarm_events TO healthsphere_api;
