"""Support modules of the LANL readers (``sekimori.ingest.readers.lanl``), kept out of the plugin folder.

The registry imports every module of ``sekimori.ingest.readers`` as a plugin, so the readers' parts
live here: ``stream`` (the bytes handed to pyarrow: bad lines quarantined and blanked, physical line
numbers kept) and ``columns`` (the epoch and times, column-wise work on dictionary-encoded values, and
the ``raw`` JSON built column by column). Nothing outside the ingest stage imports them.
"""
