-- Storage: models live in the database so they are backed up and replicated with the data.

DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'scorekit_admin') THEN
        CREATE ROLE scorekit_admin NOLOGIN;
    END IF;
END
$$;

CREATE TABLE modules (
    sha256     text PRIMARY KEY CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    name       text NOT NULL,
    version    integer NOT NULL CHECK (version > 0),
    family     text NOT NULL,
    bytes      bytea NOT NULL,
    schema     jsonb NOT NULL,
    metrics    jsonb NOT NULL DEFAULT '[]',
    created_at timestamptz NOT NULL DEFAULT now(),
    created_by name NOT NULL DEFAULT current_user,
    UNIQUE (name, version)
);
COMMENT ON TABLE modules IS 'scorekit model modules (.wasm), content-addressed by SHA-256; rows are never updated.';

CREATE TABLE aliases (
    name        text PRIMARY KEY,
    sha256      text NOT NULL REFERENCES modules (sha256),
    history     text[] NOT NULL DEFAULT '{}',
    deployed_at timestamptz NOT NULL DEFAULT now(),
    deployed_by name NOT NULL DEFAULT current_user
);
COMMENT ON TABLE aliases IS 'Deployed model names: alias -> module hash; history holds earlier hashes for rollback.';

CREATE TABLE stream_state (
    model      text NOT NULL,
    stream_key text NOT NULL,
    sha256     text NOT NULL REFERENCES modules (sha256),
    state      bytea NOT NULL,
    readings   bigint NOT NULL DEFAULT 0,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (model, stream_key)
);
COMMENT ON TABLE stream_state IS 'Anomaly-detector (RCF) state per (model, stream key), kept by scorekit.anomaly_update.';

-- pg_dump must save the models and stream states with the data.
SELECT pg_catalog.pg_extension_config_dump('modules', '');
SELECT pg_catalog.pg_extension_config_dump('aliases', '');
SELECT pg_catalog.pg_extension_config_dump('stream_state', '');

REVOKE ALL ON modules, aliases, stream_state FROM PUBLIC;
GRANT SELECT ON modules, aliases TO PUBLIC;
GRANT INSERT ON modules TO scorekit_admin;
GRANT INSERT, UPDATE, DELETE ON aliases TO scorekit_admin;
-- Streaming scores are written by whoever inserts readings (e.g. from a trigger).
GRANT SELECT, INSERT, UPDATE, DELETE ON stream_state TO PUBLIC;
