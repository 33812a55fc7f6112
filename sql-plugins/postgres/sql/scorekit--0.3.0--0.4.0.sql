-- scorekit 0.3.0 -> 0.4.0 (ALTER EXTENSION scorekit UPDATE TO '0.4.0'): the policy file's counters
-- in SQL. After it the schema equals a fresh 0.4.0 install (tests/e2e.sh compares the two).
--   * remote_stats(): each model of scorekit.policy_file with its policy, endpoint and what this
--     session counted (local/remote calls, fallbacks, breaker, shadow agreement);
--     remote_stats_json() is the same as one jsonb array.
\echo Use "ALTER EXTENSION scorekit UPDATE TO '0.4.0'" to load this file. \quit

CREATE FUNCTION @extschema@."remote_stats_json"() RETURNS jsonb
STRICT VOLATILE PARALLEL RESTRICTED
LANGUAGE c
AS 'MODULE_PATHNAME', 'remote_stats_json_wrapper';

CREATE FUNCTION @extschema@.remote_stats() RETURNS TABLE (
    model text, policy text, endpoint text,
    local_calls bigint, local_failures bigint, remote_calls bigint, remote_failures bigint,
    remote_requests bigint, fallbacks bigint, breaker text,
    shadow_calls bigint, shadow_agreed bigint, shadow_disagreed bigint, shadow_rows_disagreed bigint,
    shadow_errors bigint, shadow_skipped bigint)
    LANGUAGE sql VOLATILE PARALLEL RESTRICTED
    AS $$ SELECT * FROM jsonb_to_recordset(@extschema@.remote_stats_json()) AS r(
        model text, policy text, endpoint text,
        local_calls bigint, local_failures bigint, remote_calls bigint, remote_failures bigint,
        remote_requests bigint, fallbacks bigint, breaker text,
        shadow_calls bigint, shadow_agreed bigint, shadow_disagreed bigint, shadow_rows_disagreed bigint,
        shadow_errors bigint, shadow_skipped bigint) $$;
COMMENT ON FUNCTION @extschema@.remote_stats() IS
    'Each model of scorekit.policy_file: policy, endpoint, and what this session counted since it read the file (local/remote calls, fallbacks, breaker state, shadow agreement).';
