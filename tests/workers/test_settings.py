"""Settings come from the environment or `.env`; `.env.example` lists every one of them."""

from __future__ import annotations

import json
import os
import re
from datetime import date
from pathlib import Path

import pytest

from models.directory import County
from models.offices import load_offices, offices_file
from rules import calendar as cal
from workers.settings import Settings

EXAMPLE = Path(__file__).resolve().parents[2] / ".env.example"


def test_env_example_lists_every_setting():
    listed = set(re.findall(r"^([A-Z][A-Z0-9_]*)=", EXAMPLE.read_text(encoding="utf-8"), re.MULTILINE))
    assert {name.upper() for name in Settings.model_fields} <= listed


def test_pd2_overrides_file_from_dotenv_reaches_the_calendar(tmp_path, monkeypatch: pytest.MonkeyPatch,
                                                             shipped_calendar_only):
    """A file set only in `.env` reaches the calendar through the settings, not the process environment."""
    overrides = tmp_path / "working_days.toml"
    overrides.write_text('[2031]\nsource = "test"\nholidays = [2031-01-06]\n', encoding="utf-8")
    (tmp_path / ".env").write_text(f"CENTERS_WORKING_DAY_OVERRIDES={overrides}\nCENTERS_OFFICES_FILE=/srv/offices.json\n",
                                   encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    for name in ("CENTERS_WORKING_DAY_OVERRIDES", "CENTERS_OFFICES_FILE"):
        monkeypatch.delenv(name, raising=False)
    settings = Settings()
    assert settings.centers_working_day_overrides == overrides
    settings.install_calendar()
    assert cal.override_paths()[-1] == overrides
    assert not cal.is_working_day(date(2031, 1, 6))  # the file's holiday, a Monday
    assert cal.is_working_day(date(2031, 1, 7))
    assert "CENTERS_WORKING_DAY_OVERRIDES" not in os.environ and "CENTERS_OFFICES_FILE" not in os.environ


def test_offices_file_from_settings_reaches_the_starter(tmp_path):
    """The staff mailboxes come from the file the settings name, passed where they are read."""
    data = json.loads(offices_file().read_text(encoding="utf-8"))
    data["city_bureau_email"] = "kjj-office@zhoushan.gov.cn"
    path = tmp_path / "offices.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    assert load_offices(County.DINGHAI, path).city_bureau_email == "kjj-office@zhoushan.gov.cn"
    assert load_offices(County.DINGHAI).city_bureau_email != "kjj-office@zhoushan.gov.cn"
