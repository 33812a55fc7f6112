-- scorekit 0.1.0 -> 0.2.0 (ALTER EXTENSION scorekit UPDATE TO '0.2.0'): the extension on the shared
-- host layer. After it the schema equals a fresh 0.2.0 install (tests/e2e.sh compares the two).
--   * stream states record the trained model (model_sha256) for the redeploy policy, and states a
--     redeploy replaces are archived instead of dropped;
--   * only the extension's functions write stream states (issue 14: PUBLIC could overwrite any
--     stream's state): anomaly_update / anomaly_reset are SECURITY DEFINER with a pinned
--     search_path, PUBLIC keeps SELECT only, anomaly_reset is for scorekit_admin;
--   * forecast(model, history, timestamps, horizon, quantiles): a history with its timestamps.
\echo Use "ALTER EXTENSION scorekit UPDATE TO '0.2.0'" to load this file. \quit

ALTER TABLE @extschema@.stream_state ADD COLUMN model_sha256 text NOT NULL DEFAULT '';
COMMENT ON TABLE @extschema@.stream_state IS 'Anomaly-detector (RCF) state per (model, stream key), kept by scorekit.anomaly_update; sha256 is the module version, model_sha256 the trained model inside it.';

CREATE TABLE @extschema@.stream_state_archive (
    id           bigserial PRIMARY KEY,
    model        text NOT NULL,
    stream_key   text NOT NULL,
    sha256       text NOT NULL REFERENCES @extschema@.modules (sha256),
    model_sha256 text NOT NULL,
    state        bytea NOT NULL,
    readings     bigint NOT NULL,
    reason       text NOT NULL,
    archived_at  timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE @extschema@.stream_state_archive IS 'Stream states a redeploy (or an unreadable state) replaced: nothing a stream learned is thrown away.';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.stream_state_archive', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.stream_state_archive_id_seq', '');

REVOKE ALL ON @extschema@.stream_state, @extschema@.stream_state_archive FROM PUBLIC;
GRANT SELECT ON @extschema@.stream_state, @extschema@.stream_state_archive TO PUBLIC;
GRANT DELETE ON @extschema@.stream_state_archive TO scorekit_admin;

ALTER FUNCTION @extschema@.anomaly_update(text, text, double precision)
    SECURITY DEFINER SET search_path TO pg_catalog, pg_temp;
ALTER FUNCTION @extschema@.anomaly_reset(text, text)
    SECURITY DEFINER SET search_path TO pg_catalog, pg_temp;
REVOKE EXECUTE ON FUNCTION @extschema@.anomaly_reset(text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.anomaly_reset(text, text) TO scorekit_admin;

CREATE FUNCTION @extschema@."forecast"(
	"model" TEXT,
	"history" double precision[],
	"timestamps" timestamp with time zone[],
	"horizon" INT DEFAULT 48,
	"quantiles" double precision[] DEFAULT '{0.1,0.5,0.9}'
) RETURNS TABLE (
	"step" INT,
	"mean" double precision,
	"q" double precision[]
)
STRICT STABLE PARALLEL SAFE
LANGUAGE c
AS 'MODULE_PATHNAME', 'forecast_timed_wrapper';
