-- An Aurora PostgreSQL machine learning wrapper, unchanged: the shape of the Aurora documentation's
-- example (a SQL function around aws_sagemaker.invoke_endpoint, the model inputs as separate
-- arguments, max_rows_per_batch passed through, the answer cast, PARALLEL SAFE COST 5000), for the
-- churn model. 'churn-prod' is the SageMaker endpoint's name: with scorekit it is a model loaded
-- under that name, or the `endpoint` of a [models.NAME] section of scorekit.policy_file (then that
-- model's policy says whether the local module or the endpoint answers).
CREATE FUNCTION will_churn_aurora(
    IN state varchar, IN acc_length int8, IN area_code varchar, IN int_plan varchar,
    IN vmail_plan varchar, IN vmail_msg int8, IN day_mins float8, IN day_calls int8,
    IN day_charge float8, IN eve_mins float8, IN eve_calls int8, IN eve_charge float8,
    IN night_mins float8, IN night_calls int8, IN night_charge float8, IN int_mins float8,
    IN int_calls int8, IN int_charge float8, IN cust_service_calls int8,
    IN max_rows_per_batch int DEFAULT NULL,
    OUT churn_probability float8)
AS $$
    SELECT aws_sagemaker.invoke_endpoint('churn-prod', max_rows_per_batch,
        state, acc_length, area_code, int_plan, vmail_plan, vmail_msg, day_mins, day_calls,
        day_charge, eve_mins, eve_calls, eve_charge, night_mins, night_calls, night_charge,
        int_mins, int_calls, int_charge, cust_service_calls)::float8
$$ LANGUAGE SQL STABLE PARALLEL SAFE COST 5000;
