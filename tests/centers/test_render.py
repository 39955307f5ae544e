"""`centers show` reads as a clerk reads a center: years with report, grade and rectification, and
money by subsidy year, not a dump of the state's fields."""

from __future__ import annotations

from datetime import timedelta

from centers.render import state_text
from models.operating import Grade, Rectification, YearRecord
from tests.fixtures.states import T0, new_state
from tests.rules.test_money_rules import NEXT_YEAR, grant, granted, settle, NEXT_YEAR
from tests.fixtures.states import run


def test_m1_m2_s2_show_lists_each_year_and_each_subsidy_year_on_one_line():
    state = granted(new_state(), grant(2026, "1000000")).state
    state = run(state, "settle_subsidy", settle(2026, "750000.00"), NEXT_YEAR).state  # PD13: from 1 January 2027
    state.operating.years[2027] = YearRecord(year=2027, report_ref="NB-2027", grade=Grade.UNQUALIFIED, graded_at=T0)
    state.operating.grades[2027] = "不合格"
    state.operating.rectifications.append(Rectification(grade_year=2027, started_on=T0.date(), due_at=T0 + timedelta(days=365)))
    text = state_text(state, T0)
    year_line = next(line for line in text.splitlines() if line.strip().startswith("2027 "))  # not a 2027-… due day
    assert "NB-2027" in year_line and "不合格 (unqualified)" in year_line and "running" in year_line
    money = text[text.index("subsidy by year"):]
    money_line = next(line for line in money.splitlines() if line.strip().startswith("2026"))
    assert "1,000,000.00 yuan" in money_line and "750,000.00 yuan" in money_line and "S2 250,000.00 yuan" in money_line
    assert "years.2027" not in text and "outstanding 250,000.00 yuan" in text
