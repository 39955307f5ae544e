"""Settings come from the environment or `.env`; `.env.example` lists every one of them."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from workers.settings import Settings

EXAMPLE = Path(__file__).resolve().parents[2] / ".env.example"


def test_env_example_lists_every_setting():
    listed = set(re.findall(r"^([A-Z][A-Z0-9_]*)=", EXAMPLE.read_text(encoding="utf-8"), re.MULTILINE))
    assert {name.upper() for name in Settings.model_fields} <= listed


def test_pd2_overrides_file_from_dotenv_reaches_the_calendar(tmp_path, monkeypatch: pytest.MonkeyPatch):
    """rules.calendar reads CENTERS_WORKING_DAY_OVERRIDES from the process environment: a value set
    only in `.env` is exported there by the process's settings."""
    overrides = tmp_path / "working_days.toml"
    (tmp_path / ".env").write_text(f"CENTERS_WORKING_DAY_OVERRIDES={overrides}\nCENTERS_OFFICES_FILE=/srv/offices.json\n",
                                   encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    for name in ("CENTERS_WORKING_DAY_OVERRIDES", "CENTERS_OFFICES_FILE"):
        monkeypatch.setenv(name, "recorded")  # so that the export below is undone after the test
        monkeypatch.delenv(name)
    settings = Settings()
    assert settings.centers_working_day_overrides == overrides
    settings.export_data_files()
    assert os.environ["CENTERS_WORKING_DAY_OVERRIDES"] == str(overrides)
    assert os.environ["CENTERS_OFFICES_FILE"] == "/srv/offices.json"
