-- scorekit 0.2.0 -> 0.3.0 (ALTER EXTENSION scorekit UPDATE TO '0.3.0'): the Aurora PostgreSQL
-- machine learning drop-in. After it the schema equals a fresh 0.3.0 install (tests/e2e.sh compares
-- the two).
--   * aws_sagemaker.invoke_endpoint(endpoint_name, max_rows_per_batch, VARIADIC "any"): the answer
--     of the model the endpoint name stands for, local or remote per scorekit.policy_file.
\echo Use "ALTER EXTENSION scorekit UPDATE TO '0.3.0'" to load this file. \quit

CREATE SCHEMA aws_sagemaker;
COMMENT ON SCHEMA aws_sagemaker IS 'Aurora PostgreSQL machine learning drop-in (scorekit): invoke_endpoint answered by a local model or a remote endpoint per scorekit.policy_file.';
GRANT USAGE ON SCHEMA aws_sagemaker TO PUBLIC;
CREATE FUNCTION aws_sagemaker.invoke_endpoint(endpoint_name varchar, max_rows_per_batch int, VARIADIC model_input "any") RETURNS varchar
    LANGUAGE c STABLE PARALLEL SAFE AS 'MODULE_PATHNAME', 'scorekit_invoke_endpoint';
COMMENT ON FUNCTION aws_sagemaker.invoke_endpoint(varchar, int, "any") IS
    'Aurora ML drop-in: the answer for one row (inputs in the model''s order, or one array of them) of the model the endpoint name stands for, as text; local or remote per scorekit.policy_file.';
