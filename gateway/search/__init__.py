"""SAS search: pure ranking of candidate cards (no framework, no I/O)."""
