"""Support modules of the pgAudit reader (``sekimori.ingest.readers.pgaudit``), kept out of the plugin folder.

The registry imports every module of ``sekimori.ingest.readers`` as a plugin, so the reader's parts
live here: ``entries`` (PostgreSQL's log layouts, csvlog and stderr, read into log entries), ``times``
(PostgreSQL's log time stamps and their zone abbreviations) and ``events`` (what an entry says: a
pgAudit record, a log-in, a log-in failure or any other server message, as event columns). Nothing
outside the ingest stage imports them.
"""
