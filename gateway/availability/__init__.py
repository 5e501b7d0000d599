"""Free slots read from agenda software (SAS IG "Consommateur" flows, DESIGN §9.2)."""
