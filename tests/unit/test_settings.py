from __future__ import annotations

import re
from pathlib import Path

import pytest

from gateway.availability.tls import CERT_VARIABLE, KEY_VARIABLE
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


def test_from_env_with_nothing_set_is_the_dataclass_defaults() -> None:
    # Each default is written once, on its field: reading an empty environment must give
    # exactly what the dataclasses give.
    assert Settings.from_env({}) == Settings()


def test_blank_numbers_keep_their_default_and_blank_urls_mean_offline() -> None:
    settings = Settings.from_env(
        {"GATEWAY_SMT_RATE": " ", "GATEWAY_GEOCODER_URL": "", "GATEWAY_API_KEYS_FILE": ""}
    )
    assert settings.smt.rate_per_s == Settings().smt.rate_per_s
    assert not settings.geocoder.enabled
    assert settings.security.api_keys_file is None


def test_each_upstream_reads_its_own_prefix_and_keeps_its_own_defaults() -> None:
    settings = Settings.from_env({"GATEWAY_ANNUAIRE_RATE": "5", "GATEWAY_GEOCODER_BUDGET": "3"})
    assert settings.annuaire.upstream.rate_per_s == 5
    assert settings.geocoder.budget_s == 3
    assert settings.geocoder.rate_per_s == 50.0  # the geocoder's own default
    assert settings.smt.rate_per_s == 20.0


def test_every_variable_read_is_documented_and_every_documented_one_is_read() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"`(GATEWAY_[A-Z_]+)`", readme))
    read = set(Settings.variables())
    per_upstream = {"CONNECT_TIMEOUT", "READ_TIMEOUT", "BUDGET", "RETRIES", "BREAKER_FAILURES"}
    per_upstream |= {"BREAKER_RESET", "RATE"}
    # README states the per-upstream knobs once for all upstreams (GATEWAY_<UPSTREAM>_…).
    generic = {n for n in read if n.split("_", 2)[-1] in per_upstream and n not in documented}
    assert read - generic <= documented, sorted(read - generic - documented)
    assert documented <= read, sorted(documented - read)


def test_the_per_source_agenda_variables_are_documented() -> None:
    # Their names come from mappings/agenda_sources.csv, so Settings.variables() cannot list
    # them: the README documents the patterns gateway.availability.tls reads.
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    assert f"`{CERT_VARIABLE}`" in readme
    assert f"`{KEY_VARIABLE}`" in readme


def test_an_annuaire_page_above_200_is_refused_naming_the_variable() -> None:
    with pytest.raises(ConfigError, match="GATEWAY_ANNUAIRE_PAGE_SIZE"):
        Settings.from_env({"GATEWAY_ANNUAIRE_PAGE_SIZE": "500"})
    assert Settings.from_env({"GATEWAY_ANNUAIRE_PAGE_SIZE": "200"}).annuaire.page_size == 200


def test_a_snapshot_directory_that_does_not_exist_cannot_be_served(tmp_path: Path) -> None:
    missing = Settings.from_env({"GATEWAY_SNAPSHOT_DIR": str(tmp_path / "nope")})
    with pytest.raises(ConfigError, match=r"GATEWAY_SNAPSHOT_DIR.*does not exist"):
        missing.snapshot.served()
    a_file = tmp_path / "file"
    a_file.write_text("x", encoding="utf-8")
    with pytest.raises(ConfigError, match="is not a directory"):
        Settings.from_env({"GATEWAY_SNAPSHOT_DIR": str(a_file)}).snapshot.served()
    assert Settings.from_env({"GATEWAY_SNAPSHOT_DIR": str(tmp_path)}).snapshot.served() == tmp_path
