#!/usr/bin/env python3
"""Calls a running `host serve` with the real SageMaker runtime client (boto3, SigV4-signed
requests, dummy credentials), as an existing SageMaker user would, and checks the answers.

Usage: bench/.venv/bin/pip install boto3==1.40.0
       bench/.venv/bin/python bench/serve/boto3_check.py http://127.0.0.1:8080
Exit status 0 when every check passes.
"""
import json
import sys

import boto3
from botocore.config import Config

url = sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8080"
rt = boto3.client(
    "sagemaker-runtime",
    endpoint_url=url,
    region_name="us-east-1",
    aws_access_key_id="AKIDEXAMPLE",
    aws_secret_access_key="secret",
    config=Config(retries={"max_attempts": 0}),
)

row = "KS,128,area_code_415,no,yes,25,265.1,110,45.07,197.4,99,16.78,244.7,91,11.01,10.0,3,2.7,1"

# XGBoost-style CSV.
r = rt.invoke_endpoint(EndpointName="churn", ContentType="text/csv", Body=row + "\n" + row)
lines = r["Body"].read().decode().split()
assert r["ContentType"].startswith("text/csv"), r["ContentType"]
assert len(lines) == 2 and 0.0 <= float(lines[0]) <= 1.0, lines
print("churn text/csv:", lines, "variant:", r.get("InvokedProductionVariant"))

# Accept: application/json.
r = rt.invoke_endpoint(EndpointName="churn", ContentType="text/csv", Accept="application/json", Body=row)
doc = json.loads(r["Body"].read())
assert abs(doc["predictions"][0]["score"] - float(lines[0])) == 0.0, doc
print("churn json:", doc)

# Multi-model style: TargetModel header on any endpoint name.
r = rt.invoke_endpoint(EndpointName="any", TargetModel="churn.tar.gz", ContentType="text/csv", Body=row)
assert float(r["Body"].read()) == float(lines[0])
print("TargetModel churn.tar.gz: ok")

# Random Cut Forest JSON.
body = json.dumps({"instances": [{"features": [70.0]}, {"features": [71.5]}, {"features": [140.0]}]})
r = rt.invoke_endpoint(EndpointName="anomaly", ContentType="application/json", Body=body)
scores = json.loads(r["Body"].read())["scores"]
assert len(scores) == 3 and all("score" in s for s in scores), scores
print("anomaly rcf json:", scores)

# DeepAR JSON.
target = [7000.0 + 500.0 * ((i % 24) / 24.0) for i in range(24 * 21)]
body = json.dumps({
    "instances": [{"start": "2014-12-01 00:00:00", "target": target}],
    "configuration": {"num_samples": 3, "output_types": ["mean", "quantiles", "samples"], "quantiles": ["0.1", "0.9"]},
})
r = rt.invoke_endpoint(EndpointName="forecast", ContentType="application/json", Body=body)
pred = json.loads(r["Body"].read())["predictions"][0]
assert set(pred) == {"mean", "quantiles", "samples"} and set(pred["quantiles"]) == {"0.1", "0.9"}, pred.keys()
print("forecast deepar json: horizon", len(pred["mean"]), "samples", len(pred["samples"]))

# Errors surface as the usual botocore exceptions, with the server's message.
for kwargs, expected in [
    (dict(EndpointName="nope", ContentType="text/csv", Body=row), "unknown model 'nope'"),
    (dict(EndpointName="churn", ContentType="text/csv", Body=row.replace("KS", "XX", 1)), "unknown category 'XX'"),
]:
    try:
        rt.invoke_endpoint(**kwargs)
        raise SystemExit(f"expected an error for {kwargs['EndpointName']}")
    except rt.exceptions.ValidationError as e:
        assert expected in str(e), str(e)
        print("ValidationError:", e.response["Error"]["Message"][:80])
print("boto3 sagemaker-runtime: all checks passed")
