"""Client certificates for mutual TLS with an upstream (the ROR, the agenda software).

One place loads a PEM certificate and key into an ``ssl.SSLContext``, so every upstream
refuses an unusable certificate the same way: at start, as a ``ConfigError`` naming the
variables that hold it, rather than as a TLS failure on the first call.
"""

from __future__ import annotations

import ssl
from pathlib import Path

from gateway.settings import ConfigError


def client_certificate_context(cert: Path, key: Path | None, variables: str) -> ssl.SSLContext:
    """A default (server-verifying) context presenting ``cert``; ``key`` None: the key is in
    ``cert``'s file. ``variables`` says where the paths came from, for the error."""
    context = ssl.create_default_context()
    try:
        context.load_cert_chain(cert, key)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(f"{variables}: cannot load the client certificate ({exc})") from None
    return context
