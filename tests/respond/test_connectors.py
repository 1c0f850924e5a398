"""The connector registry and the settings every connector reads."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from sekimori.respond.actions import CONNECTORS, ActionKind, Connector, ConnectorError, connector_settings

SECRETS = """
[ldap]
url = "ldap://127.0.0.1:389"
bind_password = "from-the-file"

[webhook]
secret = "hook-secret"
"""


def test_the_three_connectors_are_registered() -> None:
    connectors = CONNECTORS.all()
    assert {"ldap", "nftables", "webhook"} <= set(connectors)
    for name, cls in connectors.items():
        assert issubclass(cls, Connector) and cls.name == name
        assert cls.description
        assert cls.kinds and all(isinstance(k, ActionKind) for k in cls.kinds)
    assert connectors["ldap"].kinds == {
        ActionKind.reset_password,
        ActionKind.disable_account,
        ActionKind.revoke_sessions,
        ActionKind.remove_grant,  # a group membership (ldap_groups.py)
    }
    assert connectors["nftables"].kinds == {ActionKind.block_route, ActionKind.isolate_host}
    assert connectors["webhook"].kinds == set(ActionKind)


def _secrets(tmp_path: Path, mode: int) -> Path:
    path = tmp_path / "secrets.toml"
    path.write_text(SECRETS)
    os.chmod(path, mode)
    return path


def test_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SEKIMORI_SECRETS", raising=False)
    monkeypatch.setenv("SEKIMORI_LDAP_BIND_DN", "cn=admin,dc=example,dc=test")
    monkeypatch.setenv("SEKIMORI_LDAP_USER_ATTRIBUTE", "sAMAccountName")
    monkeypatch.setenv("SEKIMORI_WEBHOOK_URL", "https://hooks.example/x")
    assert connector_settings("ldap") == {
        "bind_dn": "cn=admin,dc=example,dc=test",
        "user_attribute": "sAMAccountName",
    }
    assert connector_settings("webhook") == {"url": "https://hooks.example/x"}


def test_settings_from_a_private_secrets_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for key in [k for k in os.environ if k.startswith("SEKIMORI_")]:
        monkeypatch.delenv(key)
    path = _secrets(tmp_path, 0o600)
    assert connector_settings("ldap", path) == {
        "url": "ldap://127.0.0.1:389",
        "bind_password": "from-the-file",
    }
    monkeypatch.setenv("SEKIMORI_SECRETS", str(path))
    monkeypatch.setenv("SEKIMORI_LDAP_URL", "ldap://10.0.0.1:389")  # the environment wins
    assert connector_settings("ldap") == {"url": "ldap://10.0.0.1:389", "bind_password": "from-the-file"}
    assert connector_settings("webhook") == {"secret": "hook-secret"}
    assert connector_settings("nftables") == {}
    # A connector built without explicit settings reads them the same way.
    assert CONNECTORS.get("ldap")().settings["bind_password"] == "from-the-file"


def test_a_readable_secrets_file_is_refused(tmp_path: Path) -> None:
    path = _secrets(tmp_path, 0o644)
    with pytest.raises(ConnectorError, match="must not be readable by group or others") as err:
        connector_settings("ldap", path)
    assert "from-the-file" not in str(err.value)
    os.chmod(path, 0o640)
    with pytest.raises(ConnectorError):
        connector_settings("ldap", path)
