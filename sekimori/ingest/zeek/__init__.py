"""Support modules of the Zeek reader (``sekimori.ingest.readers.zeek``), kept out of the plugin folder.

The registry imports every module of ``sekimori.ingest.readers`` as a plugin, so the reader's parts
live here: ``values`` (Zeek's value syntax), ``fields`` (the field lists of the known logs and telling
a record's log), ``normalize`` (records to event columns), ``header`` (TSV header blocks and their
column plans), ``vector`` (the column-wise TSV path: a chunk of lines to a batch), ``columns`` (its
per-column conversion), ``jsonvec`` (the column-wise JSON path) and ``lines`` (a member's lines, read
in blocks and kept as columns). Nothing outside the ingest stage imports them.
"""
