"""Per-source client certificates: ``GATEWAY_AGENDA_<NAME>_CLIENT_CERT`` / ``_KEY``."""

from __future__ import annotations

import re
import shutil
import ssl
import subprocess
from pathlib import Path

import pytest

from gateway.availability.tls import agenda_tls, certificate_variables
from gateway.settings import ConfigError

CERT = "GATEWAY_AGENDA_EDITEUR_A_CLIENT_CERT"
KEY = "GATEWAY_AGENDA_EDITEUR_A_CLIENT_KEY"


def self_signed(directory: Path, name: str) -> tuple[Path, Path]:
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("openssl is not installed: cannot make a test certificate")
    cert, key = directory / f"{name}-cert.pem", directory / f"{name}-key.pem"
    subject = ["-subj", f"/CN={name}", "-keyout", str(key), "-out", str(cert)]
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", *subject],
        check=True,
        capture_output=True,
    )
    return cert, key


@pytest.fixture
def client_cert(tmp_path: Path) -> tuple[Path, Path]:
    return self_signed(tmp_path, "sas-gateway-agenda-test")


def test_the_variables_carry_the_source_name_upper_cased() -> None:
    assert certificate_variables("editeur-a") == (CERT, KEY)
    assert certificate_variables("sos_2") == (
        "GATEWAY_AGENDA_SOS_2_CLIENT_CERT",
        "GATEWAY_AGENDA_SOS_2_CLIENT_KEY",
    )


def test_no_certificate_means_plain_tls() -> None:
    assert agenda_tls("editeur-a", {}) is None
    assert agenda_tls("editeur-a", {CERT: " ", KEY: ""}) is None  # blank = unset
    # Another source's certificate is not this one's.
    assert agenda_tls("editeur-b", {CERT: "/x.pem", KEY: "/y.pem"}) is None


def test_a_certificate_and_its_key_give_a_verifying_client_context(
    client_cert: tuple[Path, Path],
) -> None:
    cert, key = client_cert
    context = agenda_tls("editeur-a", {CERT: str(cert), KEY: f" {key} "})
    assert isinstance(context, ssl.SSLContext)
    # Presenting our certificate never relaxes the check of the editor's server.
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname


def test_without_environ_the_process_environment_is_read(
    client_cert: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    cert, key = client_cert
    monkeypatch.setenv(CERT, str(cert))
    monkeypatch.setenv(KEY, str(key))
    assert isinstance(agenda_tls("editeur-a"), ssl.SSLContext)
    monkeypatch.delenv(KEY)
    with pytest.raises(ConfigError, match=KEY):
        agenda_tls("editeur-a")


@pytest.mark.parametrize(("given", "missing"), [(CERT, KEY), (KEY, CERT)])
def test_only_one_of_the_two_is_a_config_error_naming_both(given: str, missing: str) -> None:
    with pytest.raises(ConfigError) as caught:
        agenda_tls("editeur-a", {given: "/etc/sas/agenda.pem"})
    message = str(caught.value)
    assert message.startswith(f"{given} is set but {missing} is not")
    assert "'editeur-a'" in message


def test_a_missing_file_is_a_config_error_naming_the_variables(tmp_path: Path) -> None:
    absent = tmp_path / "absent.pem"
    expected = f"{CERT}='{absent}' / {KEY}='{absent}': cannot load the client certificate"
    with pytest.raises(ConfigError, match=f"^{re.escape(expected)}"):
        agenda_tls("editeur-a", {CERT: str(absent), KEY: str(absent)})


def test_a_key_that_is_not_the_certificates_is_a_config_error(tmp_path: Path) -> None:
    cert, _ = self_signed(tmp_path, "one")
    _, other_key = self_signed(tmp_path, "two")
    with pytest.raises(ConfigError, match=f"{CERT}=.*cannot load the client certificate"):
        agenda_tls("editeur-a", {CERT: str(cert), KEY: str(other_key)})


def test_a_file_that_is_not_pem_is_a_config_error(tmp_path: Path) -> None:
    junk = tmp_path / "junk.pem"
    junk.write_text("not a certificate\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=CERT):
        agenda_tls("editeur-a", {CERT: str(junk), KEY: str(junk)})
