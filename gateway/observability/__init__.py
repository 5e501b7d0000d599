"""Structured logging, Prometheus metrics and the request-id/access-log middleware."""
