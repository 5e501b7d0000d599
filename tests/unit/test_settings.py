from __future__ import annotations

from pathlib import Path

import pytest

from gateway.settings import DEFAULT_SMT_URL, DEMO_SNAPSHOT_DIR, ConfigError, Settings


def test_defaults_need_no_environment() -> None:
    settings = Settings.from_env({})
    assert settings.smt.url == DEFAULT_SMT_URL
    assert settings.snapshot.directory == DEMO_SNAPSHOT_DIR
    assert settings.server.port == 8000
    assert settings.cache.max_entries > 0


def test_empty_smt_url_means_offline() -> None:
    settings = Settings.from_env({"GATEWAY_SMT_URL": ""})
    assert not settings.smt.enabled


def test_environment_overrides_are_parsed() -> None:
    settings = Settings.from_env(
        {
            "GATEWAY_SMT_URL": "https://smt.example/fhir/",
            "GATEWAY_SMT_READ_TIMEOUT": "1.5",
            "GATEWAY_SMT_RETRIES": "0",
            "GATEWAY_SNAPSHOT_DIR": "/tmp/snap",
            "GATEWAY_CACHE_MAX_ENTRIES": "50",
            "GATEWAY_ACCESS_LOG": "false",
            "GATEWAY_TERMINOLOGY_SOFT_TTL": "10",
            "GATEWAY_TERMINOLOGY_HARD_TTL": "20",
        }
    )
    assert settings.smt.url == "https://smt.example/fhir"
    assert settings.smt.read_timeout_s == 1.5
    assert settings.smt.retries == 0
    assert settings.snapshot.directory == Path("/tmp/snap")
    assert settings.cache.max_entries == 50
    assert settings.server.access_log is False
    assert (settings.cache.terminology_soft_ttl_s, settings.cache.terminology_hard_ttl_s) == (
        10,
        20,
    )


@pytest.mark.parametrize(
    ("environ", "named"),
    [
        ({"GATEWAY_PORT": "eighty"}, "GATEWAY_PORT"),
        ({"GATEWAY_SMT_READ_TIMEOUT": "-1"}, "GATEWAY_SMT_READ_TIMEOUT"),
        ({"GATEWAY_ACCESS_LOG": "perhaps"}, "GATEWAY_ACCESS_LOG"),
        ({"GATEWAY_SMT_URL": "ftp://x"}, "GATEWAY_SMT_URL"),
        ({"GATEWAY_LOG_LEVEL": "verbose"}, "GATEWAY_LOG_LEVEL"),
        (
            {"GATEWAY_TERMINOLOGY_SOFT_TTL": "100", "GATEWAY_TERMINOLOGY_HARD_TTL": "10"},
            "GATEWAY_TERMINOLOGY_HARD_TTL",
        ),
    ],
)
def test_bad_values_fail_at_start_naming_the_variable(environ: dict[str, str], named: str) -> None:
    with pytest.raises(ConfigError, match=named):
        Settings.from_env(environ)
