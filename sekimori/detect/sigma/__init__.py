"""Sigma rules compiled to DuckDB SQL: ``ruleset`` (the compiled forms, plain data), ``rules`` (load,
compile), ``logsources`` (a rule's reading on the built-in Windows audit events), ``engine`` (one pass
per log source), ``correlation`` (Sigma v2 correlations), ``run`` (alerts), ``reference`` (pySigma
SQLite, for tests)."""
