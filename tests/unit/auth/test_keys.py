"""The API keys file: format, validation, constant-time lookup, fresh keys."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.auth.keys import KeyFileError, Role, digest_of, load_keys, new_key


def test_a_new_key_line_loads_and_authenticates_only_that_key(tmp_path: Path) -> None:
    key, line = new_key(Role.LRM, "editor-x")
    other, other_line = new_key(Role.ADMIN, "ops")
    assert key.startswith("sasgw_")
    assert key not in line  # only the digest is stored
    path = tmp_path / "keys"
    path.write_text(f"# consumers\n\n{line}\n{other_line}\n", encoding="utf-8")
    ring = load_keys(path)
    assert len(ring) == 2
    found = ring.authenticate(key)
    assert found is not None
    assert (found.role, found.label) == (Role.LRM, "editor-x")
    admin = ring.authenticate(other)
    assert admin is not None
    assert admin.role is Role.ADMIN
    assert ring.authenticate(key + "x") is None
    assert ring.authenticate("") is None


def test_every_bad_line_is_reported_with_its_number(tmp_path: Path) -> None:
    digest = "sha256:" + digest_of("k").hex()
    path = tmp_path / "keys"
    path.write_text(
        f"search {digest} front\n"
        f"root {digest} x\n"  # 2: unknown role
        "search md5:abcd y\n"  # 3: not sha256
        f"search {digest}\n"  # 4: no label
        f"admin {digest} front\n",  # 5: label reused
        encoding="utf-8",
    )
    with pytest.raises(KeyFileError) as caught:
        load_keys(path)
    report = str(caught.value)
    assert ":2: role 'root' must be one of search, lrm, admin" in report
    assert ":3: the key must be 'sha256:' and 64 hex digits" in report
    assert ":4: expected '<role> sha256:<hex> <label>'" in report
    assert ":5: label 'front' already used on line 1" in report


def test_a_missing_file_and_a_bad_label_are_errors(tmp_path: Path) -> None:
    with pytest.raises(KeyFileError, match="cannot read"):
        load_keys(tmp_path / "absent")
    with pytest.raises(KeyFileError, match="label"):
        new_key(Role.SEARCH, "has space")


def test_the_same_key_listed_twice_is_refused(tmp_path: Path) -> None:
    _, line = new_key(Role.SEARCH, "front")
    admin_line = line.replace("search", "admin", 1).replace("front", "front-copy")
    path = tmp_path / "keys"
    path.write_text(f"{line}\n{admin_line}\n", encoding="utf-8")
    with pytest.raises(KeyFileError, match=r":2: this key is already listed on line 1"):
        load_keys(path)
