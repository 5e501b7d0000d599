"""Client certificates for the agenda software: one pair of variables per source.

The SAS IG requires mutual TLS with IGC-Santé certificates, and each editor may have given
the gateway a different certificate, so the variables carry the source's name:
``GATEWAY_AGENDA_<NAME>_CLIENT_CERT`` and ``GATEWAY_AGENDA_<NAME>_CLIENT_KEY`` (PEM paths).
They cannot be ``Settings`` fields (the names come from ``mappings/agenda_sources.csv``), so
they are read here, from the process environment, when a source's client is built.
"""

from __future__ import annotations

import os
import ssl
from collections.abc import Mapping
from pathlib import Path

from gateway.mappings.agenda import variable_stem
from gateway.settings import ConfigError
from gateway.upstream.tls import client_certificate_context

#: The documented patterns (README, Configuration); ``<NAME>`` is ``variable_stem(name)``.
CERT_VARIABLE = "GATEWAY_AGENDA_<NAME>_CLIENT_CERT"
KEY_VARIABLE = "GATEWAY_AGENDA_<NAME>_CLIENT_KEY"


def certificate_variables(source_name: str) -> tuple[str, str]:
    """The certificate and key variables of one source: ``editeur-a`` →
    ``GATEWAY_AGENDA_EDITEUR_A_CLIENT_CERT``, ``…_CLIENT_KEY``."""
    stem = variable_stem(source_name)
    return CERT_VARIABLE.replace("<NAME>", stem), KEY_VARIABLE.replace("<NAME>", stem)


def agenda_tls(source_name: str, environ: Mapping[str, str] | None = None) -> ssl.SSLContext | None:
    """The context presenting the source's client certificate; None when neither variable
    is set (plain TLS, the server still verified). Blank counts as unset, as in Settings."""
    env = os.environ if environ is None else environ
    cert_variable, key_variable = certificate_variables(source_name)
    cert, key = env.get(cert_variable, "").strip(), env.get(key_variable, "").strip()
    if not cert and not key:
        return None
    if not cert or not key:
        # Unlike the ROR's, the key is never looked for in the certificate's file: one
        # variable alone is more likely a typo in the other's name than a combined PEM.
        given, missing = (cert_variable, key_variable) if cert else (key_variable, cert_variable)
        raise ConfigError(
            f"{given} is set but {missing} is not: the agenda source '{source_name}' needs "
            "both the client certificate and its key (PEM files)"
        )
    return client_certificate_context(
        Path(cert), Path(key), f"{cert_variable}={cert!r} / {key_variable}={key!r}"
    )
