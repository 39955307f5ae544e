"""M5 status board as pure composition, and the PD2 calendar warning it carries to the city."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from models.effects import CenterSnapshot
from rules.monitoring import status_digests

NOW = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)  # 1 Dec 09:00 Asia/Shanghai, when the schedule fires
COUNTIES = {"daishan": "kj-daishan@example.org", "shengsi": "kj-shengsi@example.org"}


def center(center_id: str, county: str, phase: str, due: datetime | None) -> CenterSnapshot:
    return CenterSnapshot(center_id=center_id, opened_at=NOW, revision=1, name=f"中心 {center_id}", county=county,
                          field="new_materials", route="directed", phase=phase, credit_code="X", lead_unit="Y",
                          next_deadline_at=due, updated_at=NOW)


BOARD = [center("a", "daishan", "designated", NOW - timedelta(days=1)),
         center("b", "shengsi", "county_review", NOW + timedelta(days=9)),
         center("c", "shengsi", "revoked", None)]


def test_m5_city_sees_every_live_center_and_each_county_its_own():
    city, daishan, shengsi = status_digests(BOARD, NOW, "city@example.org", COUNTIES)
    assert city.to == ["city@example.org"] and "(a)" in city.body and "(b)" in city.body
    assert "(c)" not in city.body  # revoked: no longer on the board
    assert daishan.to == ["kj-daishan@example.org"] and "(a)" in daishan.body and "(b)" not in daishan.body
    assert "(b)" in shengsi.body and "(a)" not in shengsi.body
    assert "OVERDUE" in city.body and "OVERDUE" not in shengsi.body
    assert city.key == "monitoring:2026-12:city" and shengsi.key == "monitoring:2026-12:shengsi"


def test_pd2_city_board_opens_with_the_calendar_warning_counties_do_not_get_it():
    city, daishan, _ = status_digests(BOARD, NOW, "city@example.org", COUNTIES,
                                      calendar_covered_through=date(2026, 12, 31))
    assert city.body.startswith("PD2") and "2027" in city.body and "[PD2 calendar]" in city.subject
    assert "PD2" not in daishan.body and "PD2" not in daishan.subject


def test_pd2_city_board_carries_an_invalid_override_file_problem():
    city, *_ = status_digests(BOARD, NOW, "city@example.org", COUNTIES, calendar_problem="PD2: bad file x.toml")
    assert city.body.startswith("PD2: bad file x.toml")


def test_pd2_no_warning_when_the_data_reaches_far_or_is_unknown():
    for through in (date(2027, 12, 31), None):
        city, *_ = status_digests(BOARD, NOW, "city@example.org", COUNTIES, calendar_covered_through=through)
        assert "PD2" not in city.body and "[PD2 calendar]" not in city.subject
