-- The API's relational tables: sites (tenants), users, login sessions and the
-- audit log, all isolated per tenant by row-level security.
--
-- Isolation model. The tables are owned by the role that runs migrations. The
-- API never queries as that role: every request runs in a transaction that
-- first does `SET LOCAL ROLE healthsphere_api` and
-- `set_config('app.tenant_id', <tenant>, true)`. healthsphere_api is not the
-- owner, has no BYPASSRLS, and every policy compares the row's tenant with that
-- setting, so a query that forgets its `WHERE tenant_id = ...` still sees only
-- the current tenant's rows, and an insert or update cannot write a row of
-- another tenant. FORCE ROW LEVEL SECURITY makes the policies bind the owner
-- too (superusers always bypass them, which is why the API switches role).
-- An unset tenant reads as NULL or '' and matches no row.
--
-- Roles are cluster-wide: the role may already exist from another database,
-- or be created at this moment by a migration of another database.
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'healthsphere_api') THEN
        BEGIN
            CREATE ROLE healthsphere_api NOLOGIN NOBYPASSRLS NOSUPERUSER;
        EXCEPTION WHEN duplicate_object OR unique_violation THEN
            NULL;
        END;
    END IF;
END
$$;

CREATE TABLE tenants (
    id         text COLLATE "C" PRIMARY KEY,
    name       text        NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- Passwords are argon2id PHC strings. TOTP secrets are stored sealed with
-- AES-256-GCM under the API's secret key; recovery codes as SHA-256 digests.
CREATE TABLE users (
    id              text COLLATE "C" PRIMARY KEY,
    tenant_id       text COLLATE "C" NOT NULL REFERENCES tenants (id),
    username        text COLLATE "C" NOT NULL,
    display_name    text        NOT NULL,
    password_hash   text        NOT NULL,
    roles           text[]      NOT NULL,
    totp_sealed     bytea,
    totp_enabled    boolean     NOT NULL DEFAULT false,
    -- The last TOTP time step accepted: a code is never accepted twice.
    totp_last_step  bigint      NOT NULL DEFAULT 0,
    recovery_hashes bytea[]     NOT NULL DEFAULT '{}',
    disabled        boolean     NOT NULL DEFAULT false,
    -- Bumped by every change: the ETag, checked against If-Match.
    version         integer     NOT NULL DEFAULT 1,
    created_at      timestamptz NOT NULL DEFAULT now(),
    -- Soft delete: the row stays for the audit trail; reads answer 410.
    deleted_at      timestamptz,
    UNIQUE (tenant_id, username)
);

-- One login: a chain of refresh tokens. Each refresh uses up one token and
-- issues the next; presenting a used token again means it was stolen, and the
-- whole family is revoked.
CREATE TABLE session_families (
    id                  text COLLATE "C" PRIMARY KEY,
    tenant_id           text COLLATE "C" NOT NULL REFERENCES tenants (id),
    user_id             text COLLATE "C" NOT NULL REFERENCES users (id),
    created_at          timestamptz NOT NULL DEFAULT now(),
    last_used_at        timestamptz NOT NULL DEFAULT now(),
    absolute_expires_at timestamptz NOT NULL,
    mfa                 boolean     NOT NULL,
    break_glass_until   timestamptz,
    break_glass_reason  text,
    revoked_at          timestamptz,
    revoke_reason       text
);

CREATE TABLE refresh_tokens (
    token_hash bytea PRIMARY KEY,
    tenant_id  text COLLATE "C" NOT NULL REFERENCES tenants (id),
    family_id  text COLLATE "C" NOT NULL REFERENCES session_families (id),
    generation integer     NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    used_at    timestamptz
);

-- Append-only audit log, one hash chain per tenant. `hash` is SHA-256 over the
-- previous entry's hash and this entry's fields (see dashboard-api's audit
-- module for the exact encoding); `seq` orders the entries. Nobody may update
-- or delete rows: the API role has only SELECT and INSERT, and a trigger
-- refuses UPDATE and DELETE for every role that has not disabled it (which
-- only an owner or superuser can, and `gateway audit verify` then shows it).
CREATE TABLE audit_log (
    seq           bigserial PRIMARY KEY,
    tenant_id     text COLLATE "C" NOT NULL,
    recorded_at   timestamptz NOT NULL,
    actor_id      text,
    actor_name    text        NOT NULL,
    actor_roles   text[]      NOT NULL,
    action        char(1)     NOT NULL CHECK (action IN ('C', 'R', 'U', 'D', 'E')),
    event         text        NOT NULL,
    entity_type   text        NOT NULL,
    entity_id     text,
    patient_id    text,
    source_addr   text,
    outcome       smallint    NOT NULL CHECK (outcome IN (0, 4, 8, 12)),
    break_glass   boolean     NOT NULL DEFAULT false,
    reason        text,
    request_id    text,
    prev_hash     bytea       NOT NULL,
    hash          bytea       NOT NULL UNIQUE
);
CREATE INDEX audit_log_tenant_seq ON audit_log (tenant_id, seq);

CREATE FUNCTION audit_log_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only';
END
$$;
CREATE TRIGGER audit_log_append_only
    BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();

-- Row-level security on every tenant-owned table.
DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['users', 'session_families', 'refresh_tokens', 'audit_log']
    LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format(
            'CREATE POLICY tenant_isolation ON %I
                 USING (tenant_id = current_setting(''app.tenant_id'', true))
                 WITH CHECK (tenant_id = current_setting(''app.tenant_id'', true))',
            t);
    END LOOP;
END
$$;
ALTER TABLE tenants ENABLE ROW LEVEL SECURITY;
ALTER TABLE tenants FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON tenants
    USING (id = current_setting('app.tenant_id', true))
    WITH CHECK (id = current_setting('app.tenant_id', true));

-- The collector owns `vitals` and writes it as the owner, which plain (not
-- forced) row-level security leaves alone; the policy binds the API role only.
ALTER TABLE vitals ENABLE ROW LEVEL SECURITY;
CREATE POLICY api_tenant_isolation ON vitals TO healthsphere_api
    USING (tenant_id = current_setting('app.tenant_id', true));

GRANT SELECT ON tenants TO healthsphere_api;
GRANT SELECT, INSERT, UPDATE ON users, session_families, refresh_tokens TO healthsphere_api;
GRANT SELECT, INSERT ON audit_log TO healthsphere_api;
GRANT USAGE ON SEQUENCE audit_log_seq_seq TO healthsphere_api;
GRANT SELECT ON vitals TO healthsphere_api;
