"""Which export shape a record is: diagnostic envelope, Log Analytics row, Graph object, portal CSV."""

from __future__ import annotations

from sekimori.ingest.entra.shapes import AUDIT, SIGNIN, classify, containers, csv_kind, csv_record


def test_diagnostic_envelope_by_category() -> None:
    shape = classify({"category": "NonInteractiveUserSignInLogs", "properties": {"userPrincipalName": "a@b"}})
    assert shape is not None and (shape.kind, shape.channel, shape.dialect) == (
        SIGNIN,
        "NonInteractiveUserSignInLogs",
        "diagnostic",
    )
    assert shape.props == {"userprincipalname": "a@b"}
    # Audit categories written by some shippers (Policy, UserManagement) are audits by their fields.
    audit = classify({"category": "Policy", "properties": {"activityDisplayName": "x", "initiatedBy": {}}})
    assert audit is not None and audit.kind == AUDIT
    assert classify({"category": "RiskyUsers", "properties": {"id": "1"}}) is None


def test_log_analytics_tables() -> None:
    for table, channel in [
        ("SigninLogs", "SignInLogs"),
        ("AADNonInteractiveUserSignInLogs", "NonInteractiveUserSignInLogs"),
        ("AADServicePrincipalSignInLogs", "ServicePrincipalSignInLogs"),
        ("AADManagedIdentitySignInLogs", "ManagedIdentitySignInLogs"),
        ("ADFSSignInLogs", "ADFSSignInLogs"),
        ("AuditLogs", "AuditLogs"),
    ]:
        shape = classify({"Type": table, "TimeGenerated": "2024-01-01T00:00:00Z"})
        assert shape is not None and (shape.channel, shape.dialect) == (channel, "log_analytics")
    # Other Sentinel tables are not ours.
    assert classify({"Type": "OfficeActivity", "Operation": "MailItemsAccessed"}) is None
    assert classify({"Type": "SecurityEvent", "EventID": 4624}) is None


def test_graph_objects_and_their_sign_in_type() -> None:
    base = {"createdDateTime": "2024-01-01T00:00:00Z", "status": {"errorCode": 0}}
    user = classify({**base, "userPrincipalName": "a@b", "isInteractive": True})
    assert user is not None and user.channel == "SignInLogs" and user.dialect == "graph"
    quiet = classify({**base, "userPrincipalName": "a@b", "isInteractive": False})
    assert quiet is not None and quiet.channel == "NonInteractiveUserSignInLogs"
    app = classify({**base, "appId": "x", "servicePrincipalId": "sp", "userPrincipalName": ""})
    assert app is not None and app.channel == "ServicePrincipalSignInLogs"
    beta = classify({**base, "userPrincipalName": "a@b", "signInEventTypes": ["managedIdentity"]})
    assert beta is not None and beta.channel == "ManagedIdentitySignInLogs"
    assert classify({"createdDateTime": "2024-01-01T00:00:00Z", "name": "x"}) is None
    assert classify([1, 2]) is None


def test_containers() -> None:
    assert containers({"records": [1, 2]}) == [1, 2]
    assert containers({"@odata.context": "x", "@odata.nextLink": "y", "value": [3]}) == [3]
    assert containers({"value": [3], "id": "not a page"}) is None  # a record with a 'value' field
    assert containers({"time": "x"}) is None and containers([1]) is None


def test_csv_headers() -> None:
    assert csv_kind(["Date (UTC)", "Request ID", "User agent", "Username", "Status"]) == SIGNIN
    assert csv_kind(["Date (UTC)", "CorrelationId", "Service", "Activity", "Result"]) == AUDIT
    assert csv_kind(["date", "user", "result"]) is None
    raw, record = csv_record(
        SIGNIN, ["Date (UTC)", "Sign-in error code", "Username", "Unknown"], ["d", "0", "u", "z"]
    )
    assert raw == {"Date (UTC)": "d", "Sign-in error code": "0", "Username": "u", "Unknown": "z"}
    assert record == {"createdDateTime": "d", "status": {"errorCode": "0"}, "userPrincipalName": "u"}
