"""Directory: practitioner identities (Annuaire Santé) and CPTS zones (ROR)."""
