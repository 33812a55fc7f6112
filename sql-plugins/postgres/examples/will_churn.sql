-- Aurora ML-compatible churn function (the seed's 20-argument will_churn): the phone number is
-- accepted and ignored, area_code is passed as a number and mapped to the model's level
-- 'area_code_<n>', and the result is the label 'True.' / 'False.' (probability > 0.5).
SELECT scorekit.create_function('will_churn', 'churn', output => 'label', arguments => '[
  {"name": "state"},
  {"name": "acc_length", "input": "account_length", "type": "bigint"},
  {"name": "area_code", "type": "bigint", "format": "area_code_{}"},
  {"name": "phone", "type": "text", "ignore": true},
  {"name": "int_plan", "input": "international_plan"},
  {"name": "vmail_plan", "input": "voice_mail_plan"},
  {"name": "vmail_msg", "input": "number_vmail_messages", "type": "bigint"},
  {"name": "day_mins", "input": "total_day_minutes"},
  {"name": "day_calls", "input": "total_day_calls", "type": "bigint"},
  {"name": "day_charge", "input": "total_day_charge"},
  {"name": "eve_mins", "input": "total_eve_minutes"},
  {"name": "eve_calls", "input": "total_eve_calls", "type": "bigint"},
  {"name": "eve_charge", "input": "total_eve_charge"},
  {"name": "night_mins", "input": "total_night_minutes"},
  {"name": "night_calls", "input": "total_night_calls", "type": "bigint"},
  {"name": "night_charge", "input": "total_night_charge"},
  {"name": "intl_mins", "input": "total_intl_minutes"},
  {"name": "intl_calls", "input": "total_intl_calls", "type": "bigint"},
  {"name": "intl_charge", "input": "total_intl_charge"},
  {"name": "cust_service_calls", "input": "number_customer_service_calls", "type": "bigint"}
]');
