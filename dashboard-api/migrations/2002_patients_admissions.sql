-- Patients and their admissions to beds, isolated per tenant by row-level
-- security like the tables of 2001.
--
-- Protected health information is stored sealed at field level: the MRN,
-- the name and the date of birth are each AES-256-GCM ciphertexts (nonce,
-- ciphertext, tag) bound to the patient id and the field name, under a key
-- the database never sees. Looking a patient up by MRN uses `mrn_hash`, a
-- keyed hash (HMAC-SHA256 under a second key) of the tenant and the MRN: equal
-- MRNs of one tenant give equal hashes, and without the key the hash says
-- nothing about the MRN.
--
-- A bed is the unit of monitoring: vitals are stored per bed, and a patient's
-- vitals are the bed's samples within the patient's admissions. An admission
-- may be recorded late (admitted_at in the past) and still claims the bed's
-- samples from then on. Two admissions of one bed, or of one patient, never
-- overlap in time (exclusion constraints over the closed-open range
-- [admitted_at, discharged_at), an open admission running to infinity).
CREATE EXTENSION IF NOT EXISTS btree_gist;

CREATE TABLE patients (
    id           text COLLATE "C" PRIMARY KEY,
    tenant_id    text COLLATE "C" NOT NULL REFERENCES tenants (id),
    mrn_hash     bytea       NOT NULL,
    mrn_sealed   bytea       NOT NULL,
    name_sealed  bytea       NOT NULL,
    birth_sealed bytea       NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (tenant_id, mrn_hash)
);

CREATE TABLE admissions (
    id            text COLLATE "C" PRIMARY KEY,
    tenant_id     text COLLATE "C" NOT NULL REFERENCES tenants (id),
    patient_id    text COLLATE "C" NOT NULL REFERENCES patients (id),
    bed_id        text COLLATE "C" NOT NULL,
    -- The ward (point of care, as in HL7 PV1-3) the bed belongs to, when
    -- given: live subscriptions by ward follow the beds of the patients
    -- currently admitted to it.
    ward_id       text COLLATE "C",
    admitted_at   timestamptz NOT NULL,
    discharged_at timestamptz,
    created_at    timestamptz NOT NULL DEFAULT now(),
    CHECK (discharged_at IS NULL OR discharged_at > admitted_at),
    EXCLUDE USING gist (
        tenant_id WITH =, bed_id WITH =,
        tstzrange(admitted_at, coalesce(discharged_at, 'infinity')) WITH &&
    ),
    EXCLUDE USING gist (
        tenant_id WITH =, patient_id WITH =,
        tstzrange(admitted_at, coalesce(discharged_at, 'infinity')) WITH &&
    )
);
CREATE INDEX admissions_patient ON admissions (tenant_id, patient_id, admitted_at);
CREATE INDEX admissions_open_ward ON admissions (tenant_id, ward_id) WHERE discharged_at IS NULL;

DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['patients', 'admissions']
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

-- Patients are never deleted or changed through the API (corrections are a
-- later feature); admissions are created and discharged.
GRANT SELECT, INSERT ON patients TO healthsphere_api;
GRANT SELECT, INSERT, UPDATE ON admissions TO healthsphere_api;
