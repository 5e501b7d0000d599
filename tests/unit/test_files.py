"""Atomic replacement: the previous file survives a failed write, no temporary file stays."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.files import atomic_writer, write_atomically


def test_write_replaces_the_file_and_creates_its_directory(tmp_path: Path) -> None:
    target = tmp_path / "a" / "b" / "x.json"
    write_atomically(target, b"one")
    write_atomically(target, b"two")
    assert target.read_bytes() == b"two"
    assert [p.name for p in target.parent.iterdir()] == ["x.json"]


def test_a_failed_write_keeps_the_previous_file(tmp_path: Path) -> None:
    target = tmp_path / "x.npz"
    target.write_bytes(b"previous")

    def interrupted() -> None:
        with atomic_writer(target) as handle:
            handle.write(b"half of the new")
            raise RuntimeError("interrupted")

    with pytest.raises(RuntimeError):
        interrupted()
    assert target.read_bytes() == b"previous"
    assert [p.name for p in tmp_path.iterdir()] == ["x.npz"]
