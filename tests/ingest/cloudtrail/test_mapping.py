"""Record → columns for identities and cases the samples lack, shaped after the userIdentity examples of
the CloudTrail record-contents reference; expected values worked out by hand."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson
import pytest

from sekimori.ingest.cloudtrail.mapping import record_event
from sekimori.ingest.fit import BadValue


def _event(record: dict) -> dict:
    return record_event(record, 7, orjson.dumps(record).decode())


def test_lake_lowercase_nested_assumed_role_cross_account() -> None:
    record = {
        "eventversion": "1.09",
        "useridentity": {
            "type": "AssumedRole",
            "principalid": "AROAEXAMPLEID:alice",
            "arn": "arn:aws:sts::111122223333:assumed-role/Admin/alice",
            "accountid": "111122223333",
            "accesskeyid": "ASIAEXAMPLEKEY",
            "sessioncontext": {
                "attributes": {"mfaauthenticated": "true", "creationdate": "2024-03-01T09:00:00Z"},
                "sessionissuer": {"type": "Role", "arn": "arn:aws:iam::111122223333:role/Admin"},
            },
        },
        "eventtime": "2024-03-01T10:00:00",
        "eventsource": "s3.amazonaws.com",
        "eventname": "ListBuckets",
        "awsregion": "us-east-1",
        "sourceipaddress": "192.0.2.10",
        "useragent": "aws-cli/2.15.0",
        "recipientaccountid": "444455556666",
        "eventtype": "AwsApiCall",
    }
    e = _event(record)
    assert e["principal"] == "alice"
    assert (e["tenant"], e["resource_tenant"], e["cross_tenant"]) == (
        "111122223333",
        "444455556666",
        "crossAccount",
    )
    assert e["mfa_used"] is True and e["logon_id"] == "ASIAEXAMPLEKEY"
    assert e["time"] == datetime(2024, 3, 1, 10, 0, tzinfo=UTC)
    assert (e["src_ip"], e["user_agent"], e["application"]) == (
        "192.0.2.10",
        "aws-cli/2.15.0",
        "s3.amazonaws.com",
    )
    assert e["raw"] == orjson.dumps(record).decode()  # kept as written, lowercase


def test_cross_account_assume_role_from_the_callers_side() -> None:
    record = {
        "eventTime": "2024-03-01T10:00:00Z",
        "eventName": "AssumeRole",
        "eventSource": "sts.amazonaws.com",
        "userIdentity": {
            "type": "IAMUser",
            "arn": "arn:aws:iam::111122223333:user/dev",
            "accountId": "111122223333",
        },
        "requestParameters": {"roleArn": "arn:aws:iam::444455556666:role/Deploy", "roleSessionName": "s"},
        "recipientAccountId": "111122223333",
        "sourceIPAddress": "2001:db8::5",
    }
    e = _event(record)
    assert e["principal"] == "dev"  # from the arn: the record has no userName
    assert e["role"] == "arn:aws:iam::444455556666:role/Deploy"
    assert e["cross_tenant"] == "crossAccount" and e["resource_tenant"] == "111122223333"
    assert (e["category"], e["ocsf_class_uid"]) == ("authentication", 3002)
    assert e["src_ip"] == "2001:db8::5"


@pytest.mark.parametrize(
    ("identity", "principal", "tenant"),
    [
        (
            {
                "type": "FederatedUser",
                "principalId": "123456789012:Bob",
                "arn": "arn:aws:sts::123456789012:federated-user/Bob",
                "accountId": "123456789012",
            },
            "Bob",
            "123456789012",
        ),
        (
            {
                "type": "IdentityCenterUser",
                "accountId": "123456789012",
                "onBehalfOf": {
                    "userId": "544894e8-80c1-707f-60e3-3ba6510dfac1",
                    "identityStoreArn": "arn:aws:identitystore::123456789012:identitystore/d-1234567890",
                },
            },
            "544894e8-80c1-707f-60e3-3ba6510dfac1",
            "123456789012",
        ),
        (
            {"type": "Root", "principalId": "123456789012", "arn": "arn:aws:iam::123456789012:root"},
            "root",
            "123456789012",
        ),
        ({"type": "AWSService", "invokedBy": "cloudtrail.amazonaws.com"}, None, None),
    ],
)
def test_principal_and_tenant_per_identity_type(
    identity: dict, principal: str | None, tenant: str | None
) -> None:
    e = _event({"eventName": "GetSessionToken", "eventSource": "sts.amazonaws.com", "userIdentity": identity})
    assert (e["principal"], e["tenant"]) == (principal, tenant)
    assert (e["category"], e["ocsf_class_uid"]) == ("authentication", 3002)


def test_service_sources_go_to_src_host() -> None:
    e = _event(
        {"eventName": "Decrypt", "eventSource": "kms.amazonaws.com", "sourceIPAddress": "AWS Internal"}
    )
    assert (e["src_ip"], e["src_host"]) == (None, "AWS Internal")
    assert (e["category"], e["ocsf_class_uid"]) == ("generic", 6003)
    e = _event(
        {
            "eventName": "GetObject",
            "eventSource": "s3.amazonaws.com",
            "eventCategory": "Data",
            "userIdentity": {"type": "AssumedRole", "invokedBy": "athena.amazonaws.com"},
            "sourceIPAddress": "athena.amazonaws.com",
        }
    )
    assert (e["src_ip"], e["src_host"], e["category"]) == (None, "athena.amazonaws.com", "data_access")


def test_console_login_failure_and_mfa() -> None:
    record = {
        "eventName": "ConsoleLogin",
        "eventSource": "signin.amazonaws.com",
        "userIdentity": {"type": "IAMUser", "userName": "carol", "accountId": "111122223333"},
        "responseElements": {"ConsoleLogin": "Failure"},
        "additionalEventData": {"MFAUsed": "No", "LoginTo": "https://console.aws.amazon.com/"},
        "errorMessage": "Failed authentication",
    }
    e = _event(record)
    assert (e["outcome"], e["status"], e["mfa_used"]) == ("failure", "Failed authentication", False)
    ok = _event(
        {**record, "responseElements": {"ConsoleLogin": "Success"}, "additionalEventData": {"MFAUsed": "Yes"}}
    )
    assert (ok["outcome"], ok["status"], ok["mfa_used"]) == ("success", None, True)


def test_error_code_is_the_status() -> None:
    e = _event({"eventName": "CreateUser", "eventSource": "iam.amazonaws.com", "errorCode": "AccessDenied"})
    assert (e["outcome"], e["status"]) == ("failure", "AccessDenied")


@pytest.mark.parametrize(("when", "field"), [("yesterday", "eventTime"), (1700000000, "eventTime")])
def test_bad_time_names_the_field(when: object, field: str) -> None:
    with pytest.raises(BadValue) as err:
        _event({"eventName": "X", "eventTime": when})
    assert err.value.field == field
