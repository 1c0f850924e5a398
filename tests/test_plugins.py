"""The plugin registries behind readers and detectors."""

import pytest

from sekimori.detect.base import DETECTORS
from sekimori.ingest.base import READERS
from sekimori.plugins import Registry


def test_builtin_plugins_are_found_by_name():
    assert {"evtx", "windows_json", "syslog", "lanl", "lanl_redteam", "zeek", "pgaudit"} <= set(READERS.all())
    assert {"sigma", "boundary", "behaviour"} <= set(DETECTORS.all())
    assert READERS.get("evtx").name == "evtx"


def test_a_name_is_taken_once_and_unknown_names_are_named():
    registry: Registry[type] = Registry("widget", "sekimori.ingest.readers", "sekimori.no-such-group")

    class A:
        name = "a"

    class B:
        name = "a"

    class Nameless:
        pass

    assert registry.register(A) is A
    assert registry.register(A) is A  # re-registering the same class is harmless
    with pytest.raises(ValueError, match="widget name 'a' is taken"):
        registry.register(B)
    with pytest.raises(TypeError, match="no widget name"):
        registry.register(Nameless)
    with pytest.raises(KeyError, match="unknown widget 'b'"):
        registry.get("b")
