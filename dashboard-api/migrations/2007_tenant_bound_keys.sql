-- Foreign keys carry the tenant on the tables of 2001 and 2002 too.
--
-- PostgreSQL checks foreign keys without row-level security, so a key on
-- an id alone lets a row of one tenant point at another tenant's row: an
-- admission of one site naming another site's patient, a session family of
-- one site for another site's user. The handlers never write such rows, but
-- isolation should not rest on every handler remembering; with the tenant
-- in the key, the database refuses them. (2004 added the unique indexes on
-- users and patients these keys need.)
CREATE UNIQUE INDEX IF NOT EXISTS users_tenant_id_id ON users (tenant_id, id);
CREATE UNIQUE INDEX IF NOT EXISTS patients_tenant_id_id ON patients (tenant_id, id);
CREATE UNIQUE INDEX IF NOT EXISTS session_families_tenant_id_id
    ON session_families (tenant_id, id);

ALTER TABLE admissions DROP CONSTRAINT admissions_patient_id_fkey;
ALTER TABLE admissions ADD CONSTRAINT admissions_patient_fkey
    FOREIGN KEY (tenant_id, patient_id) REFERENCES patients (tenant_id, id);

ALTER TABLE session_families DROP CONSTRAINT session_families_user_id_fkey;
ALTER TABLE session_families ADD CONSTRAINT session_families_user_fkey
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id);

ALTER TABLE refresh_tokens DROP CONSTRAINT refresh_tokens_family_id_fkey;
ALTER TABLE refresh_tokens ADD CONSTRAINT refresh_tokens_family_fkey
    FOREIGN KEY (tenant_id, family_id) REFERENCES session_families (tenant_id, id);
