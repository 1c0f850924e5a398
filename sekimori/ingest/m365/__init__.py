"""Support code of the Microsoft 365 unified audit log reader (``sekimori.ingest.readers.m365``): the
record mapping and the audit-log search exports (CSV, PowerShell JSON) that wrap the record."""
