-- The Aurora ML churn example's statements (issue 18's seed), run as written: the table, the
-- load of the data file, the single-row call and the query over the table. Only the function
-- definition differs: Aurora's `CREATE FUNCTION will_churn(...) ... alias aws_sagemaker_invoke_endpoint`
-- is, here, the stored function that install.sh generates (examples/will_churn.json) around
-- scorekit_label(). churn.txt is the demo data in Aurora's form (area_code as a number, a phone
-- column, the label as True./False.); test.sh writes it from data/demo/churn.csv.
CREATE TABLE churn (
  state varchar(2048),
  acc_length bigint(20),
  area_code bigint(20),
  phone varchar(2048) NOT NULL,
  int_plan varchar(2048),
  vmail_plan varchar(2048),
  vmail_msg bigint(20),
  day_mins double,
  day_calls bigint(20),
  day_charge double,
  eve_mins double,
  eve_calls bigint(20),
  eve_charge double,
  night_mins double,
  night_calls bigint(20),
  night_charge double,
  intl_mins double,
  intl_calls bigint(20),
  intl_charge double,
  cust_service_calls bigint(20),
  churn varchar(2048)
);

LOAD DATA LOCAL INFILE 'churn.txt' INTO TABLE churn
  COLUMNS TERMINATED BY ',' OPTIONALLY ENCLOSED BY '"' LINES TERMINATED BY '\n'
  IGNORE 1 LINES
  (state, acc_length, area_code, phone, int_plan, vmail_plan, vmail_msg, day_mins, day_calls,
   day_charge, eve_mins, eve_calls, eve_charge, night_mins, night_calls, night_charge, intl_mins,
   intl_calls, intl_charge, cust_service_calls, churn);
