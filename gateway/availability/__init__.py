"""Live availability: free slots read from the practitioners' agenda software (SAS IG
"Consommateur" flows, DESIGN §9.2)."""
