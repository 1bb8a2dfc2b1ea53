-- Staff messages: a member of staff writes to one colleague, to everyone
-- holding a role (the pharmacy, the physicians) or to a ward. Isolated per
-- tenant by row-level security like the tables of 2002.
--
-- A message may speak of a patient, so its subject and body are protected
-- health information: each is sealed with AES-256-GCM under the PHI key,
-- bound to the message id and the field name, like patients' names.
-- Messages are a record: the API role may add them but never change or
-- delete them. A message to a role or a ward has several readers, each with
-- their own receipt in `staff_message_reads`.

-- Composite keys let a reference name its tenant too, so a message can never
-- point at another site's user or patient even though ids are global.
CREATE UNIQUE INDEX IF NOT EXISTS users_tenant_id_id ON users (tenant_id, id);
CREATE UNIQUE INDEX IF NOT EXISTS patients_tenant_id_id ON patients (tenant_id, id);

CREATE TABLE staff_messages (
    id                text COLLATE "C" PRIMARY KEY CHECK (id ~ '^[0-9a-f]{32}$'),
    tenant_id         text COLLATE "C" NOT NULL REFERENCES tenants (id),
    sender_id         text COLLATE "C" NOT NULL,
    -- Exactly one recipient: a user, a role (as named in the API's roles
    -- module) or a ward (the same ward ids as admissions).
    recipient_user_id text COLLATE "C",
    recipient_role    text COLLATE "C" CHECK (recipient_role IN (
        'administrator', 'physician', 'nurse', 'charge_nurse',
        'biomedical_engineer', 'pharmacist', 'billing_clerk', 'front_desk')),
    recipient_ward_id text COLLATE "C",
    priority          text        NOT NULL CHECK (priority IN ('routine', 'urgent')),
    -- The patient the message is about, if any.
    patient_id        text COLLATE "C",
    subject_sealed    bytea       NOT NULL,
    body_sealed       bytea       NOT NULL,
    sent_at           timestamptz NOT NULL DEFAULT now(),
    CHECK (num_nonnulls(recipient_user_id, recipient_role, recipient_ward_id) = 1),
    UNIQUE (tenant_id, id),
    FOREIGN KEY (tenant_id, sender_id) REFERENCES users (tenant_id, id),
    FOREIGN KEY (tenant_id, recipient_user_id) REFERENCES users (tenant_id, id),
    FOREIGN KEY (tenant_id, patient_id) REFERENCES patients (tenant_id, id)
);
-- The inbox (to me, to my roles), a ward's messages and the sent list, each
-- newest first.
CREATE INDEX staff_messages_to_user ON staff_messages (tenant_id, recipient_user_id, sent_at DESC)
    WHERE recipient_user_id IS NOT NULL;
CREATE INDEX staff_messages_to_role ON staff_messages (tenant_id, recipient_role, sent_at DESC)
    WHERE recipient_role IS NOT NULL;
CREATE INDEX staff_messages_to_ward ON staff_messages (tenant_id, recipient_ward_id, sent_at DESC)
    WHERE recipient_ward_id IS NOT NULL;
CREATE INDEX staff_messages_sender ON staff_messages (tenant_id, sender_id, sent_at DESC);

-- One receipt per message and reader: the first time the reader marked it
-- read.
CREATE TABLE staff_message_reads (
    tenant_id  text COLLATE "C" NOT NULL REFERENCES tenants (id),
    message_id text COLLATE "C" NOT NULL,
    user_id    text COLLATE "C" NOT NULL,
    read_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (message_id, user_id),
    FOREIGN KEY (tenant_id, message_id) REFERENCES staff_messages (tenant_id, id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id)
);

SELECT isolate_by_tenant('staff_messages');
SELECT isolate_by_tenant('staff_message_reads');

GRANT SELECT, INSERT ON staff_messages TO healthsphere_api;
GRANT SELECT, INSERT ON staff_message_reads TO healthsphere_api;
