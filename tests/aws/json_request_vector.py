"""Prints the SigV4 headers botocore signs a Secrets Manager GetSecretValue call with, for fixed
inputs, for shared/auth-core/src/aws/client.rs's test.

Run: python3 tests/aws/json_request_vector.py (needs botocore).
"""
import datetime
from unittest import mock

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

fixed = datetime.datetime.fromtimestamp(1_795_341_600, datetime.timezone.utc).replace(tzinfo=None)
request = AWSRequest(
    method="POST",
    url="https://secretsmanager.eu-west-1.amazonaws.com/",
    data=b'{"SecretId":"arn:aws:secretsmanager:eu-west-1:123456789012:secret:db-AbCdEf"}',
    headers={
        "Content-Type": "application/x-amz-json-1.1",
        "X-Amz-Target": "secretsmanager.GetSecretValue",
    },
)
credentials = Credentials("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "session-token-example")
with mock.patch("botocore.auth.get_current_datetime", return_value=fixed):
    SigV4Auth(credentials, "secretsmanager", "eu-west-1").add_auth(request)
for name in ("X-Amz-Date", "X-Amz-Security-Token", "Authorization"):
    print(f"{name}: {request.headers[name]}")
