-- Views and grants that need the functions created above.

CREATE VIEW models AS
SELECT m.name,
       m.version,
       m.sha256,
       m.family,
       length(m.bytes) AS size_bytes,
       (a.sha256 IS NOT NULL) AS deployed,
       m.schema,
       m.metrics,
       m.created_at,
       m.created_by
FROM @extschema@.modules m
LEFT JOIN @extschema@.aliases a ON a.name = m.name AND a.sha256 = m.sha256
ORDER BY m.name, m.version;
COMMENT ON VIEW models IS 'Loaded model modules; deployed = the alias of the same name points at it.';

CREATE VIEW stats AS SELECT * FROM @extschema@.session_stats();
COMMENT ON VIEW stats IS 'Calls, rows, errors and time inside module calls per model, for the current session.';

GRANT SELECT ON models, stats TO PUBLIC;
GRANT USAGE ON SCHEMA @extschema@ TO PUBLIC;

-- Direct edits of the aliases table must invalidate every backend's alias cache too.
CREATE FUNCTION aliases_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM @extschema@.invalidate_alias_cache();
    RETURN NULL;
END
$$;
CREATE TRIGGER aliases_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON aliases
    FOR EACH STATEMENT EXECUTE FUNCTION aliases_changed();

REVOKE EXECUTE ON FUNCTION load_model(text, bytea, text, boolean) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION load_model_file(text, text, text, boolean) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION deploy(text, text) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION rollback(text) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION anomaly_reset(text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION load_model(text, bytea, text, boolean) TO scorekit_admin;
GRANT EXECUTE ON FUNCTION deploy(text, text) TO scorekit_admin;
GRANT EXECUTE ON FUNCTION rollback(text) TO scorekit_admin;
GRANT EXECUTE ON FUNCTION anomaly_reset(text, text) TO scorekit_admin;
