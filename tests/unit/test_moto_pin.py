"""moto's patches are pinned to the moto they were written against."""

from __future__ import annotations

import importlib.metadata
from pathlib import Path

import pytest
from scheduled_comms_local.moto_patches import MOTO_VERSION, require_pinned_moto

CONSTRAINTS = Path(__file__).resolve().parents[2] / "constraints.txt"


def test_the_pin_is_the_version_constraints_install():
    assert f"moto=={MOTO_VERSION}" in CONSTRAINTS.read_text().splitlines()


def test_the_pinned_moto_is_accepted():
    require_pinned_moto()


def test_another_moto_is_refused_naming_both_versions(monkeypatch):
    monkeypatch.setattr(importlib.metadata, "version", lambda name: "5.3.0" if name == "moto" else "0")

    with pytest.raises(RuntimeError, match=rf"moto 5\.3\.0 is installed.*moto {MOTO_VERSION}"):
        require_pinned_moto()
