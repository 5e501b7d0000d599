"""Consumer API keys, roles and per-key rate limits."""
