"""A Windows value made fit for its column (sekimori.ingest.windows.values)."""

from __future__ import annotations

import pytest

from sekimori.ingest.fit import BadValue
from sekimori.ingest.schema import FAILURE, SUCCESS
from sekimori.ingest.windows.values import (
    TRANSFORMS,
    as_text,
    check_nested_header,
    clean,
    domain_value,
    event_id_text,
    first_value,
    number_value,
    status_outcome,
)


def test_dash_and_empty_mean_no_value():
    assert clean("-") is None and clean("") is None and clean(None) is None
    assert clean("0") == "0" and clean(0) == 0


def test_objects_in_text_fields_become_json_text():
    assert as_text({"a": 1}) == '{"a":1}'
    assert as_text([1, 2]) == "[1,2]"
    assert as_text(4624) == "4624"
    assert as_text("-") is None


def test_principal_and_domain_split_both_notations():
    principal = TRANSFORMS["principal"]
    assert principal("CORP\\alice") == "alice"
    assert principal("alice@corp.example") == "alice"
    assert principal("alice") == "alice"
    assert domain_value(None, "CORP\\alice") == "CORP"
    assert domain_value(None, "alice@corp.example") == "corp.example"
    assert domain_value("GIVEN", "CORP\\alice") == "GIVEN"
    assert domain_value("-", "alice") is None


def test_addresses_hosts_and_packages_are_normalized():
    assert TRANSFORMS["src_ip"]("::ffff:10.0.0.5") == "10.0.0.5"
    assert TRANSFORMS["target_ip"]("fe80::1") == "fe80::1"
    assert TRANSFORMS["src_host"]("\\\\WS01") == "WS01"
    assert TRANSFORMS["target_host"]("\\\\") is None
    assert TRANSFORMS["auth_package"]("MICROSOFT_AUTHENTICATION_PACKAGE_V1_0") == "NTLM"
    assert TRANSFORMS["auth_package"]("Kerberos") == "Kerberos"


def test_numbers_out_of_their_column_range_fail_the_record():
    assert number_value("3389", "src_port", "IpPort") == 3389
    assert number_value("-", "src_port", "IpPort") is None
    with pytest.raises(BadValue) as bad:
        number_value("70000", "src_port", "IpPort")
    assert bad.value.field == "src_port"


def test_event_ids_are_16_bit():
    assert event_id_text(4624) == "4624"
    assert event_id_text("4624") == "4624"
    assert event_id_text("") is None
    with pytest.raises(BadValue):
        event_id_text(70000)


def test_a_system_text_field_holding_an_object_is_named():
    check_nested_header("Security", "Microsoft-Windows-Security-Auditing", "DC01")
    with pytest.raises(BadValue) as bad:
        check_nested_header("Security", None, {"name": "DC01"})
    assert bad.value.field == "Computer"


def test_first_value_skips_no_value_markers():
    assert first_value("-", "", None, "x", "y") == "x"
    assert first_value("-") is None


def test_status_code_gives_the_outcome():
    assert status_outcome({}, {"Status": "0x0"}) == SUCCESS
    assert status_outcome({}, {"Status": "0xC000006A"}) == FAILURE
    assert status_outcome({}, {}) is None
