-- Appointments of patients (outpatient clinics, procedures, visits), with
-- the FHIR R4 Appointment statuses, and the append-only history of their
-- status changes. Isolated per tenant by row-level security like 2002.
--
-- An appointment holds no sealed text: the service, times and status are
-- scheduling facts, and the patient is named by id only.
--
-- Foreign keys are checked without row-level security, so a key on the
-- patient id alone would let one tenant's row name another tenant's
-- patient. Every key here carries the tenant, which needs (tenant_id, id)
-- to be unique on the tables referred to.
CREATE UNIQUE INDEX IF NOT EXISTS users_tenant_id_id ON users (tenant_id, id);
CREATE UNIQUE INDEX IF NOT EXISTS patients_tenant_id_id ON patients (tenant_id, id);

CREATE TABLE appointments (
    id                  text COLLATE "C" PRIMARY KEY,
    tenant_id           text COLLATE "C" NOT NULL REFERENCES tenants (id),
    patient_id          text COLLATE "C" NOT NULL,
    service             text        NOT NULL CHECK (length(service) BETWEEN 1 AND 200),
    -- The user expected to see the patient, when known.
    practitioner_id     text COLLATE "C",
    ward_id             text COLLATE "C",
    starts_at           timestamptz NOT NULL,
    ends_at             timestamptz NOT NULL,
    status              text        NOT NULL CHECK (status IN (
        'proposed', 'pending', 'booked', 'arrived', 'fulfilled', 'cancelled',
        'noshow', 'entered-in-error', 'checked-in', 'waitlist')),
    cancellation_reason text,
    version             integer     NOT NULL DEFAULT 1,
    created_by          text COLLATE "C" NOT NULL,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    CHECK (ends_at > starts_at AND ends_at <= starts_at + INTERVAL '24 hours'),
    CHECK (status <> 'cancelled' OR cancellation_reason IS NOT NULL),
    UNIQUE (tenant_id, id),
    FOREIGN KEY (tenant_id, patient_id) REFERENCES patients (tenant_id, id),
    FOREIGN KEY (tenant_id, practitioner_id) REFERENCES users (tenant_id, id)
);
CREATE INDEX appointments_start ON appointments (tenant_id, starts_at, id);
CREATE INDEX appointments_patient ON appointments (tenant_id, patient_id, starts_at);

CREATE TABLE appointment_status_history (
    seq            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id      text COLLATE "C" NOT NULL REFERENCES tenants (id),
    appointment_id text COLLATE "C" NOT NULL,
    from_status    text,
    to_status      text        NOT NULL,
    reason         text,
    actor_id       text COLLATE "C" NOT NULL,
    at             timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (tenant_id, appointment_id) REFERENCES appointments (tenant_id, id)
);
CREATE INDEX appointment_status_history_of ON appointment_status_history (tenant_id, appointment_id, seq);

-- Row-level security as on the tables of 2001 and 2002, in one place for
-- this and later migrations: the tenant of every row is the tenant set for
-- the transaction, for the owner too (FORCE).
CREATE FUNCTION isolate_by_tenant(t regclass) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('ALTER TABLE %s FORCE ROW LEVEL SECURITY', t);
    EXECUTE format(
        'CREATE POLICY tenant_isolation ON %s
             USING (tenant_id = current_setting(''app.tenant_id'', true))
             WITH CHECK (tenant_id = current_setting(''app.tenant_id'', true))',
        t);
END
$$;
REVOKE EXECUTE ON FUNCTION isolate_by_tenant(regclass) FROM PUBLIC;

SELECT isolate_by_tenant('appointments');
SELECT isolate_by_tenant('appointment_status_history');

-- Appointments change status but are never removed (a mistake becomes
-- entered-in-error); their history is only appended to.
GRANT SELECT, INSERT, UPDATE ON appointments TO healthsphere_api;
GRANT SELECT, INSERT ON appointment_status_history TO healthsphere_api;
