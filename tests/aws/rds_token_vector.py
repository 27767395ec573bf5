"""Prints the RDS IAM token botocore generates for fixed inputs, for shared/src/aws.rs's test.

Run: python3 tests/aws/rds_token_vector.py (needs botocore).
"""
import datetime
from unittest import mock

import botocore.session

session = botocore.session.get_session()
session.set_credentials("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
client = session.create_client("rds", region_name="eu-west-1")
fixed = datetime.datetime.fromtimestamp(1_795_341_600, datetime.timezone.utc).replace(tzinfo=None)
with mock.patch("botocore.auth.get_current_datetime", return_value=fixed):
    print(client.generate_db_auth_token(
        DBHostname="db.cluster-abc.eu-west-1.rds.amazonaws.com", Port=5432, DBUsername="app_iam"))
