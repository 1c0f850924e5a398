"""Support code of the ``auditd`` reader: record parsing (``records``), event reassembly by serial
(``assemble``), value tables (``tables``) and what an event means (``events``)."""
