"""Review 2: D7/PD16 date order around late-recorded notices and offline objections (pure)."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from rules.agenda import due_now
from rules.engine import Refusal
from tests.fixtures import factories as f
from tests.fixtures.states import new_state, run

ENDS = datetime(2026, 3, 6, 16, 0, tzinfo=timezone.utc)  # 24:00 Friday 6 March 2026 (Asia/Shanghai)


def test_review2_document_cannot_be_dated_before_the_objection_it_waited_for_was_resolved():
    """PD16: the document is issued once no objection is open; one dated 7 March cannot follow an
    objection dismissed on 20 March (each step follows the one before it, as D6/D7 require)."""
    state = run(new_state(), "submit_application", f.application(), facts=[]).state
    state = run(state, "record_county_review", f.county_review()).state
    state = run(state, "record_city_evaluation", f.city_evaluation(evaluated_on=date(2026, 3, 2))).state
    entered = ENDS + timedelta(days=10)  # 16 March
    state = run(state, "publish_notice", f.notice(date(2026, 3, 2), recorded_late="纸质公示"), entered, facts=ENDS).state
    state = due_now(state, entered, ordered=True).state
    offline = {"actor": f.actor("city_bureau"), "request_id": f.rid(), "objector": "李某", "contact": "信函",
               "grounds": "材料不实", "received_on": "2026-03-04"}
    state = run(state, "file_objection", offline, entered).state
    dismissed_at = ENDS + timedelta(days=14)  # 20 March
    state = run(state, "resolve_objection", {"actor": f.actor("city_bureau"), "request_id": f.rid(),
                                             "objection_id": state.objections[0].id, "outcome": "dismissed",
                                             "finding": "经核实，材料属实"}, dismissed_at).state
    with pytest.raises(Refusal) as info:
        run(state, "issue_designation", f.designation_document(date(2026, 3, 7)), dismissed_at + timedelta(days=1),
            facts=[])
    assert info.value.field == "issued_on"
