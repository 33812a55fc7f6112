-- The seed's queries, as written, once will_churn exists.
SELECT will_churn('IN',65,415,'329-6603','no','no',0,129.1,137,21.95,228.5,83,19.42,208.8,111,9.4,12.7,6,3.43,4) AS 'Will Churn?';

SELECT c.state, c.acc_length, c.area_code, c.phone, c.churn,
       will_churn(c.state, c.acc_length, c.area_code, c.phone, c.int_plan, c.vmail_plan, c.vmail_msg,
                  c.day_mins, c.day_calls, c.day_charge, c.eve_mins, c.eve_calls, c.eve_charge,
                  c.night_mins, c.night_calls, c.night_charge, c.intl_mins, c.intl_calls,
                  c.intl_charge, c.cust_service_calls) AS 'Will Churn?'
FROM churn AS c LIMIT 5;
