"""Live availability: free slots read from the practitioners' agenda software (SAS IG)."""
