"""Review 2: hostile or inconsistent import files (rules/importing.py) must be refused, not accepted."""

from __future__ import annotations

from typing import Any

import pytest

from models.importing import ImportCenter
from rules.engine import Refusal
from rules.importing import import_lifecycle
from tests.fixtures import factories as f
from tests.fixtures.states import T0, new_state  # T0: 2026-03-02


def imp(**changes: Any) -> ImportCenter:
    data: dict[str, Any] = {
        "request_id": "rv2-import-1", "actor": {"name": "产业处 李华", "role": "city_bureau"}, "source_ref": "市科技局名单（2024年第1批）",
        "profile": f.profile_data(), "phase": "designated", "designated_on": "2023-05-20",
        "designation_ref": "舟科发〔2023〕21号", "grades": {"2023": "合格", "2024": "良好", "2025": "优秀"},
    } | changes
    return ImportCenter.model_validate(data)


def advance(year: int, granted_on: str, **more: Any) -> dict[str, Any]:
    return {"year": year, "amount_yuan": "500000.00", "granted_on": granted_on, "payment_ref": f"舟科拨-{year}"} | more


def test_review2_import_grade_gap_years_are_opened() -> None:
    # docstring of _open_years: "every ended evaluated year without a grade is open now"
    state = import_lifecycle(new_state(), imp(grades={"2023": "合格", "2025": "合格"}), T0).state
    assert state.deadline("annual_evaluation-2024") is not None or 2024 in state.operating.grades, \
        "2024 has no grade and no open evaluation: it is never evaluated"


def test_review2_import_rectification_started_before_graded_year_ended() -> None:
    # M2: the rectification starts when the unqualified grade of 2025 is recorded, i.e. after 2025 ended
    bad = imp(phase="rectifying", grades={"2023": "合格", "2024": "合格", "2025": "不合格"},
              rectification_started_on="2025-06-01")
    with pytest.raises(Refusal):
        import_lifecycle(new_state(), bad, T0)


def test_review2_import_advances_outside_pd11_window() -> None:
    # PD11: the subsidy years are Y, Y+1, Y+2 from the first advance; 2021 and 2025 cannot both be
    bad = imp(advances=[advance(2021, "2021-06-01"), advance(2025, "2025-06-01")], designated_on="2021-05-20",
              grades={"2021": "合格", "2022": "合格", "2023": "合格", "2024": "合格", "2025": "合格"})
    with pytest.raises(Refusal):
        import_lifecycle(new_state(), bad, T0)


def test_review2_import_current_year_already_settled() -> None:
    # PD13: the amount due for year Y is recorded from 1 January of Y+1; 2026 cannot be settled in March 2026
    bad = imp(advances=[advance(2026, "2026-01-10", amount_due_yuan="400000.00", assessment_ref="JX-1")])
    with pytest.raises(Refusal):
        import_lifecycle(new_state(), bad, T0)


def test_review2_import_first_advance_long_before_designation() -> None:
    # S3, PD5: designation within 2 years of the first subsidy; paid 2018, designated 2023 means S3 lapsed
    bad = imp(advances=[advance(2018, "2018-03-01")])
    with pytest.raises(Refusal):
        import_lifecycle(new_state(), bad, T0)


def test_review2_import_advance_year_before_its_payment_day() -> None:
    # an advance for subsidy year 2019 paid on 2025-06-01 (inconsistent year vs granted_on)
    bad = imp(advances=[advance(2019, "2025-06-01")])
    with pytest.raises(Refusal):
        import_lifecycle(new_state(), bad, T0)


def test_review2_import_report_on_current_year_before_it_opens() -> None:
    # M7: the report on 2026 may be submitted from 2026-12-01; an import in March 2026 cannot hold it
    bad = imp(reports={"2026": "NB-2026"})
    with pytest.raises(Refusal):
        import_lifecycle(new_state(), bad, T0)


def test_review2_import_duplicate_grade_keys_collapse_silently() -> None:
    # "2025" and "+2025" are one year: the file says two different grades for it
    with pytest.raises(ValueError):
        ImportCenter.model_validate(imp().model_dump(mode="json") | {"grades": {"2025": "合格", "+2025": "不合格"}})


def test_review2_import_designated_with_last_years_unqualified_grade() -> None:
    # M2: the 2025 grade 不合格 is recorded in 2026 at the earliest; its 1-year rectification cannot be over
    # by March 2026, so the center is rectifying, not designated
    bad = imp(grades={"2023": "合格", "2024": "合格", "2025": "不合格"})
    with pytest.raises(Refusal):
        import_lifecycle(new_state(), bad, T0)
