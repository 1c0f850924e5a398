"""Support modules of the syslog reader (``sekimori.ingest.readers.syslog``), kept out of the plugin folder.

The registry imports every module of ``sekimori.ingest.readers`` as a plugin, so the reader's parts
live here: ``header`` (header forms, time stamps, year and zone, tag), ``messages`` (a message to
event fields, dispatching to ``sshd``, ``pam`` and ``programs``) and ``event_values`` (what those
parsers share). Nothing outside the ingest stage imports them.
"""
