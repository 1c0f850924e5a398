"""Support code of the Okta System Log reader (``sekimori.ingest.readers.okta``): the mapping of a
``LogEvent`` to event columns, and the JSON record stream and values the cloud audit readers share."""
