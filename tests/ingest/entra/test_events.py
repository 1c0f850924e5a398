"""What sign-in fields mean for MFA and tenants, on single records written from the Graph signIn reference."""

from __future__ import annotations

from typing import Any

from sekimori.ingest.entra.events import signin_event
from sekimori.ingest.entra.shapes import classify


def _event(**fields: Any) -> dict[str, Any]:
    record = {"createdDateTime": "2024-05-01T10:00:00Z", "userPrincipalName": "a@contoso.com", **fields}
    record.setdefault("status", {"errorCode": 0})
    shape = classify(record)
    assert shape is not None
    return signin_event(shape)


def test_mfa_from_mfa_detail() -> None:
    event = _event(mfaDetail={"authMethod": "PhoneAppNotification", "authDetail": "+X XXXXXXXX"})
    assert (event["mfa_used"], event["mfa_method"]) == (True, "PhoneAppNotification")


def test_mfa_from_a_second_step() -> None:
    steps = [
        {
            "authenticationMethod": "Password",
            "succeeded": True,
            "authenticationStepRequirement": "Primary authentication",
        },
        {"authenticationMethod": "OATH verification code", "succeeded": True},
    ]
    assert _event(authenticationDetails=steps)["mfa_method"] == "OATH verification code"
    failed = [steps[0], {**steps[1], "succeeded": False}]
    assert _event(authenticationDetails=failed)["mfa_used"] is None  # nothing says either way


def test_mfa_from_the_requirement() -> None:
    assert _event(authenticationRequirement="singleFactorAuthentication")["mfa_used"] is False
    assert _event(authenticationRequirement="multiFactorAuthentication")["mfa_used"] is True
    # Required but the sign-in failed: whether the second factor was reached is unknown.
    failed = _event(authenticationRequirement="multiFactorAuthentication", status={"errorCode": 50074})
    assert failed["mfa_used"] is None and failed["outcome"] == "failure"
    assert _event()["mfa_used"] is None


def test_tenants() -> None:
    guest = _event(homeTenantId="home", resourceTenantId="res", crossTenantAccessType="b2bCollaboration")
    assert (guest["tenant"], guest["resource_tenant"], guest["cross_tenant"]) == (
        "home",
        "res",
        "b2bCollaboration",
    )
    member = _event(resourceTenantId="res", crossTenantAccessType="none", userType="Member")
    assert member["tenant"] == "res"
    unsaid = _event(resourceTenantId="res")
    assert unsaid["tenant"] is None  # no home tenant and no cross-tenant type: not guessed
    guest_none = _event(resourceTenantId="res", crossTenantAccessType="none", userType="Guest")
    assert guest_none["tenant"] is None
