"""Built-in report kinds, one module per jurisdiction; every module here is loaded by
``sekimori.report.kind.report_kinds()``."""
