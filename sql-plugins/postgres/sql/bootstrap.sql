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
-- Stored uncompressed: a backend reads a module once per session, on its first call, and
-- decompressing it (pglz, ~0.4 ms for the demo churn module) was a tenth of that call.
ALTER TABLE modules ALTER COLUMN bytes SET STORAGE EXTERNAL;

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
    -- Last, as ALTER TABLE ... ADD COLUMN put it in the upgrade from 0.1.0 (same table either way).
    model_sha256 text NOT NULL DEFAULT '',
    PRIMARY KEY (model, stream_key)
);
COMMENT ON TABLE stream_state IS 'Anomaly-detector (RCF) state per (model, stream key), kept by scorekit.anomaly_update; sha256 is the module version, model_sha256 the trained model inside it.';

CREATE TABLE stream_state_archive (
    id           bigserial PRIMARY KEY,
    model        text NOT NULL,
    stream_key   text NOT NULL,
    sha256       text NOT NULL REFERENCES modules (sha256),
    model_sha256 text NOT NULL,
    state        bytea NOT NULL,
    readings     bigint NOT NULL,
    reason       text NOT NULL,
    archived_at  timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE stream_state_archive IS 'Stream states a redeploy (or an unreadable state) replaced: nothing a stream learned is thrown away.';

-- pg_dump must save the models and stream states with the data.
SELECT pg_catalog.pg_extension_config_dump('modules', '');
SELECT pg_catalog.pg_extension_config_dump('aliases', '');
SELECT pg_catalog.pg_extension_config_dump('stream_state', '');
SELECT pg_catalog.pg_extension_config_dump('stream_state_archive', '');
SELECT pg_catalog.pg_extension_config_dump('stream_state_archive_id_seq', '');

REVOKE ALL ON modules, aliases, stream_state, stream_state_archive FROM PUBLIC;
GRANT SELECT ON modules, aliases, stream_state, stream_state_archive TO PUBLIC;
GRANT INSERT ON modules TO scorekit_admin;
GRANT INSERT, UPDATE, DELETE ON aliases TO scorekit_admin;
GRANT DELETE ON stream_state_archive TO scorekit_admin;
-- Stream states are written only by scorekit.anomaly_update / anomaly_reset (SECURITY DEFINER):
-- a role that could write the table could forge any stream's state.
