"""Loading and validation of the steward-maintained files in ``mappings/``."""
