"""Windows events (Security, Sysmon, System, TerminalServices…) → the normalized event schema.

The readers of Windows records (``evtx``, ``windows_json``) hand parsed records to ``NormalizedRows``
(each as it is parsed) or ``normalize_docs``; this package is their shared mapping, kept out of the
plugin folder. Its modules: ``events`` (the mapping as data: the column sources per channel and event
id), ``logon_source`` (where a logon's client and target come from, per event kind), ``values`` (a
record's value made fit for its column), ``dialects`` (the JSON shapes: evtx, flat, beat, beat6),
``normalize`` (the compiled, batch-wise mapping and its quarantine) and ``markdown``
(``docs/windows-mapping.md``, regenerated with ``python -m sekimori.ingest.windows >
docs/windows-mapping.md``). Nothing outside the ingest stage imports them.
"""

from __future__ import annotations

from sekimori.ingest.windows.dialects import DIALECTS, Dialect
from sekimori.ingest.windows.events import (
    RDP_CONNECTIONS,
    SECURITY,
    SYSMON,
    SYSTEM,
    WINDOWS_EVENTS,
    WindowsEvent,
)
from sekimori.ingest.windows.markdown import mapping_markdown
from sekimori.ingest.windows.normalize import (
    NormalizedRows,
    WindowsNormalizer,
    normalize_docs,
    normalized_batch,
    normalized_rows,
    parse_times,
)
from sekimori.ingest.windows.values import Fields

__all__ = [
    "DIALECTS",
    "RDP_CONNECTIONS",
    "SECURITY",
    "SYSMON",
    "SYSTEM",
    "WINDOWS_EVENTS",
    "Dialect",
    "Fields",
    "NormalizedRows",
    "WindowsEvent",
    "WindowsNormalizer",
    "mapping_markdown",
    "normalize_docs",
    "normalized_batch",
    "normalized_rows",
    "parse_times",
]
