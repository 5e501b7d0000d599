"""HTTP layer: thin litestar controllers over the services, one error boundary."""
