"""Support code of the ``cloudtrail`` reader: the shapes CloudTrail records arrive in (``shapes``), the
mapping of one record to the event columns (``mapping``) and the CSV exports (``csvform``).

Not a plugin folder: the registered reader is ``sekimori.ingest.readers.cloudtrail``.
"""

from __future__ import annotations
