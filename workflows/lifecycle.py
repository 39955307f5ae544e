"""CenterLifecycle: one center's whole life as one durable workflow (INTERFACE.md, DESIGN.md).

The workflow only waits, calls activities and applies decisions; every rule lives in ``rules/``.
Each staff action in ``rules.engine.ACTIONS`` becomes an update (validated before anything is
written to history) and a signal of the same name (refusals recorded, never failing the task).

Time before actions (patch ``due-before-actions``): whatever has fallen due at ``workflow.now()``
is applied before any action is judged, and the update validator judges the same caught-up state.
Deadlines never wait for SMTP or PostgreSQL: a step's record is queued and written in order by one
recorder, mail leaves through the outbox dispatcher, and continue-as-new awaits nothing once the
handlers have finished (unwritten records travel into the next run).
"""

from __future__ import annotations

import asyncio
from datetime import date, datetime, timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributePair
from temporalio.exceptions import ActivityError, ApplicationError
from temporalio.exceptions import TimeoutError as TemporalTimeout

with workflow.unsafe.imports_passed_through():
    import email_validator  # noqa: F401  loaded lazily by pydantic's EmailStr; pass it through up front

    from models.actor import Actor
    from models.calendar import CalendarUpdate, PeriodEndsAnswer, PeriodEndsRequest
    from models.effects import AuditEntry, CenterSnapshot, OutcomeBatch
    from models.text import header_safe
    from models.state import ActionResult, CenterState, LifecycleInput, RecordFailure, Rejection
    from rules import engine, periods
    from rules.agenda import caught_up, due_now, next_wakeup
    from rules.calendar import end_of_day, local_date
    from rules.catalog import ACTIONS
    from models.importing import ImportCenter
    from models.refusal_note import REFUSAL_NOTED, RefusalNote, valid_request_id
    from rules.designation import open_lifecycle
    from models.subsidy import AdvanceRequest, LedgerEntry
    from rules.importing import advance_entries, check_import, import_lifecycle
    from rules.money import open_missing_settlements
    from rules.engine import Decision, Refusal
    from workflows import visibility

ACTIVITY_TIMEOUT = timedelta(minutes=2)
RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=5))
# An action's outside facts (the cap check, the calendar, the bans) may hold the lock this long at
# most; past it the action is refused as "try again", so an outage never holds up a deadline.
FACTS_TIMEOUT = timedelta(minutes=1)
REJECTIONS_KEPT = 50
ANSWERS_KEPT = 500  # request_ids remembered for duplicates: far more than a center's yearly actions
RECORD_FAILURES_KEPT = 20
UNRECORDED_REFUSALS_CAP = 200  # records waiting for PostgreSQL beyond which refusals are kept in the state only
# A run hands its unwritten records to the next one only after PostgreSQL has been away this long;
# until then it waits for the recorder (deadlines keep firing meanwhile).
RECORDER_PATIENCE = timedelta(hours=1)
# Patch (docs/rollout.md): NextDeadline and the status board skip internal timers such as the yearly
# M1 marker. Runs recorded before it keep the marker there, so their search-attribute upserts replay.
HIDE_INTERNAL_DEADLINES = "hide-internal-deadlines"
# Patch: the audit row carries the signed-in user's stable id (portal). Only an action whose actor
# has a user_id asks for it, so histories recorded before it (none has one) replay unchanged.
AUDIT_USER_ID = "portal-audit-user-id"
# Patch: the rule book's PD11-PD17 (money always settled, findings before penalties, designation by
# document). Runs begun before it keep the rules they started with (CenterState.rule_book_pd11).
RULE_BOOK_PD11_PD17 = "pd1x-rule-book-pd11-pd17"
# Patch (issue 9): due steps before actions, fixed same-instant precedence, no overtaken reminders,
# records that never hold up a deadline, mail through the outbox dispatcher, no await before
# continue-as-new. Runs recorded before it keep the old loop (``_run_before_due_first``).
DUE_BEFORE_ACTIONS = "due-before-actions"
# Patch (docs/rollout.md, issue 14): PD10 settles period ends (M2, S3) over rest days through the
# settle_period_ends activity, and holds a deadline that falls due while its calendar data is
# missing. Asked only on the DUE_BEFORE_ACTIONS path, when a period deadline is opened, falls due,
# is carried into a new run, or on the calendar_updated signal: a running lifecycle changes at its
# next period deadline. Runs without it fire at the nominal end.
PERIOD_ENDS = "pd10-period-ends"
# Patch (issue 11, staff latency): an action's facts and every record are tried first as ONE local
# activity attempt (in the worker, inside the workflow task: no server round trip), and only if that
# attempt fails or takes longer than LOCAL_ATTEMPT does the ordinary activity take over with its
# retries. A local activity holds the workflow task open, so the attempt is short: an outage costs a
# deadline at most LOCAL_ATTEMPT, and then the durable activity waits for PostgreSQL as before.
# Asked on the DUE_BEFORE_ACTIONS path only; runs recorded before it keep ordinary activities.
LOCAL_FIRST = "latency-local-first"
LOCAL_ATTEMPT = timedelta(seconds=2)
# Patch (issue 13): the refusal_noted signal audits an update its validator refused. A worker from
# before the handler buffers such a signal and records nothing, so replay of that history must too.
REFUSAL_NOTES = "refusal-noted-audit"
# Patch: local-first is off again for new runs. With it, an update sent as a run continues-as-new at
# the year end went unanswered in about one time-skipping run in five (tests/workflows/
# test_time_first.py, found by the clean-clone CI); until that is understood, new runs take the
# ordinary activities. Runs recorded with LOCAL_FIRST (generation 2026-11-29-latency) replay as
# they were taken.
LOCAL_FIRST_OFF = "latency-local-first-off"


def refused(refusal: Refusal, *, audited: bool = False) -> ApplicationError:
    """The error a client sees: names the field and the rule (details carry both). ``audited``: the
    workflow has recorded it already (a refusal after acceptance); otherwise the caller reports it
    back with the ``refusal_noted`` signal, since a validator cannot write."""
    return ApplicationError(str(refusal), {**refusal.as_dict(), "audited": audited},
                            type="ActionRefused", non_retryable=True)


def _bounded(value: Any, limit: int) -> str | None:
    """Raw text from a refused payload, made safe to keep: a string, short, no control characters
    (PostgreSQL refuses NUL in text, and the audit row must still be written)."""
    return None if value is None else header_safe(str(value)[:limit])


class CenterLifecycle:
    @workflow.init
    def __init__(self, input: LifecycleInput) -> None:
        self.state = input.state or CenterState(
            profile=input.profile, policy=input.policy, offices=input.offices, opened_at=workflow.now(),
            chain_id=workflow.info().run_id,
        )
        self.lock = asyncio.Lock()
        self.opened = input.state is not None  # handlers wait until the opening step is recorded
        self.mail: list[asyncio.Task[None]] = []  # runs before DUE_BEFORE_ACTIONS only
        self.visible: list[SearchAttributePair] = []
        self.hide_internal = False  # set in run(); see HIDE_INTERNAL_DEADLINES
        self.due_first = False  # set in run(); see DUE_BEFORE_ACTIONS
        self.unrecorded: list[OutcomeBatch] = list(input.unrecorded)
        self.recorder: asyncio.Task[None] | None = None
        self.recording_since: datetime | None = None  # when the oldest unwritten record was first tried
        self.period_ends = False  # PD10 patch taken in this run: a due provisional end is held, not fired
        self.period_asked: set[str] = set()  # PD10: provisional deadlines the calendar was asked about this run

    @workflow.run
    async def run(self, input: LifecycleInput) -> CenterState:
        self.hide_internal = workflow.patched(HIDE_INTERNAL_DEADLINES)
        self.state.rule_book_pd11 = workflow.patched(RULE_BOOK_PD11_PD17)
        self.due_first = workflow.patched(DUE_BEFORE_ACTIONS)
        if not self.due_first:
            return await self._run_before_due_first(input)
        self.visible = [p for p in workflow.info().typed_search_attributes.search_attributes
                        if p.key.name in visibility.OURS]
        self._start_recorder()
        async with self.lock:
            if input.state is None and input.imported is not None:
                await self._import(input.imported)
            elif input.state is None:
                await self._apply(open_lifecycle(self.state.model_copy(deep=True), workflow.now()))
            self.opened = True
            if self.state.rule_book_pd11 and (missing := open_missing_settlements(self.state.model_copy(deep=True),
                                                                                  workflow.now())):
                self._take(missing)  # PD13: years advanced while the run still kept the older rules
            await self._settle_provisional()  # PD10: ends carried into this run (the new year's data)
            self._refresh_visibility()
        run_year = local_date(workflow.now()).year
        while not (self.state.ended and not self.state.agenda):
            if self._wants_new_run(run_year) and self._ready_for_new_run():
                # Nothing is awaited between the handlers' drain and here: no handler can start.
                workflow.continue_as_new(LifecycleInput(
                    profile=self.state.profile, policy=self.state.policy, offices=self.state.offices,
                    state=self.state, unrecorded=self.unrecorded,
                ))
            await self._sleep_until_something_is_due(run_year)
            async with self.lock:
                await self._settle_due_periods()  # PD10: before any due handler
                self._catch_up()
                await self._settle_provisional(fresh_only=True)  # PD10: a due step that opened a period
        await workflow.wait_condition(lambda: workflow.all_handlers_finished() and not self.unrecorded)
        return self.state

    async def _run_before_due_first(self, input: LifecycleInput) -> CenterState:
        """The loop of runs recorded before DUE_BEFORE_ACTIONS, kept as it was so that they replay."""
        async with self.lock:
            if input.state is None:
                await self._apply(open_lifecycle(self.state.model_copy(deep=True), workflow.now()))
            self.opened = True
            self._refresh_visibility()
        run_year = local_date(workflow.now()).year
        while not (self.state.ended and not self.state.agenda):
            await self._sleep_until_something_is_due(run_year)
            async with self.lock:
                while (decision := due_now(self.state, workflow.now())) is not None:
                    await self._apply(decision)
            if workflow.info().is_continue_as_new_suggested() or local_date(workflow.now()).year != run_year:
                await workflow.wait_condition(workflow.all_handlers_finished)
                await asyncio.gather(*self.mail)
                self.mail.clear()
                workflow.continue_as_new(
                    LifecycleInput(profile=self.state.profile, policy=self.state.policy,
                                   offices=self.state.offices, state=self.state)
                )
        await workflow.wait_condition(workflow.all_handlers_finished)
        await asyncio.gather(*self.mail)
        return self.state

    async def _import(self, imported: ImportCenter) -> None:
        """An existing center opens in its current phase with its past: one audited step. Checked
        again here (the client checked first); a refusal fails this start and changes nothing."""
        now = workflow.now()
        try:
            check_import(imported, self.state.policy, now)
            decision = import_lifecycle(self.state.model_copy(deep=True), imported, now)  # every check first
            for entry in advance_entries(self.state, imported, now):  # PD6: through the cap like any advance
                await self._reserve(entry, now)
        except Refusal as refusal:
            raise refused(refusal) from None
        await self._apply(decision, event=decision.event, actor=imported.actor, request_id=imported.request_id)

    async def _reserve(self, entry: LedgerEntry, now: datetime) -> None:
        try:
            await workflow.execute_activity(
                "reserve_advance", AdvanceRequest(entry=entry, cap_yuan=self.state.policy.yearly_city_cap_yuan),
                result_type=LedgerEntry, start_to_close_timeout=ACTIVITY_TIMEOUT, retry_policy=RETRY,
                schedule_to_close_timeout=FACTS_TIMEOUT, summary=f"PD6 imported advance {entry.year}",
            )
        except ActivityError as err:
            message = err.cause.message if isinstance(err.cause, ApplicationError) else "the ledger could not be reached"
            raise Refusal("PD6", "advances", f"the {entry.year} advance: {message}") from None

    @workflow.query(description="The whole live state: phase, deadlines, grades, money, objections, refusals")
    def state(self) -> CenterState:
        return self.state

    # -- PD10: provisional period ends (rules/periods.py) -----------------------------------------

    @workflow.signal(name="calendar_updated", description="PD10: the working-day data grew; settle provisional period ends")
    async def calendar_updated(self, payload: Any) -> None:
        """Sent once per new calendar year by the worker that first starts with it (workers/calendar_signal.py)."""
        try:
            years = set(CalendarUpdate.model_validate(payload).years)
        except Exception:  # a bad payload must not fail the task: re-check every provisional end
            years = set()
        await workflow.wait_condition(lambda: self.opened)
        async with self.lock:
            if not years or periods.years_needed(self.state) & years:
                await self._settle_provisional()

    async def _settle_due_periods(self) -> None:
        """PD10: a provisional deadline that fell due is settled, or held, before anything fires."""
        if periods.held_due(self.state, workflow.now()):
            await self._settle_provisional()

    async def _settle_provisional(self, *, fresh_only: bool = False) -> None:
        """PD10: ask the calendar for the legal ends of the provisional deadlines and take the answer.

        ``fresh_only``: only if a provisional deadline was opened since the last ask (after a step).
        Caller holds the lock. Runs before DUE_BEFORE_ACTIONS (``_run_before_due_first``) never ask.
        """
        provisional = periods.provisional_deadlines(self.state)
        if not self.due_first or not provisional:
            return
        if fresh_only and {d.id for d in provisional} <= self.period_asked:
            return
        if not workflow.patched(PERIOD_ENDS):
            return
        self.period_ends = True
        self.period_asked.update(d.id for d in provisional)
        answer = await workflow.execute_activity(
            "settle_period_ends", PeriodEndsRequest(nominal=sorted({periods.nominal_day(d) for d in provisional})),
            result_type=PeriodEndsAnswer, start_to_close_timeout=ACTIVITY_TIMEOUT, retry_policy=RETRY,
            summary="PD10 period ends: the next working day over rest days",
        )
        decision = periods.settle_provisional(self.state, answer, workflow.now())
        if decision is not None:
            self._take(decision)

    # -- waiting ---------------------------------------------------------------------------------

    def _wants_new_run(self, run_year: int) -> bool:
        return workflow.info().is_continue_as_new_suggested() or local_date(workflow.now()).year != run_year

    def _ready_for_new_run(self) -> bool:
        """No handler in flight, and every record written (or PostgreSQL away too long to wait)."""
        if not workflow.all_handlers_finished() or self.lock.locked():
            return False
        stalled = self.recording_since is not None and workflow.now() - self.recording_since > RECORDER_PATIENCE
        return not self.unrecorded or stalled

    async def _sleep_until_something_is_due(self, run_year: int) -> None:
        """Sleep until the earliest reminder or deadline, the new year (continue-as-new), or a change.

        Once a new run is wanted, also until the handlers have finished and the records are written
        (or the recorder has waited RECORDER_PATIENCE for PostgreSQL); deadlines keep firing meanwhile.
        """
        revision = self.state.revision
        wake = next_wakeup(self.state)
        if self.due_first and self._wants_new_run(run_year):
            candidates = [wake] if wake else []
            patience = (self.recording_since or workflow.now()) + RECORDER_PATIENCE
            if patience > workflow.now():
                candidates.append((patience, "new run: waiting for records"))
            if not candidates:  # patience spent, handlers still in flight: wait for them, never spin
                await workflow.wait_condition(
                    lambda: self.state.revision != revision or self._ready_for_new_run())
                return
            at, summary = min(candidates, key=lambda c: c[0])
        else:
            new_year = end_of_day(date(run_year, 12, 31))
            at, summary = wake if wake and wake[0] < new_year else (new_year, "new year: continue-as-new")
        delay = at - workflow.now()
        if delay <= timedelta(0):
            return
        try:
            await workflow.wait_condition(
                lambda: self.state.revision != revision or workflow.info().is_continue_as_new_suggested()
                or (self.due_first and self._wants_new_run(run_year) and self._ready_for_new_run()),
                timeout=delay, timeout_summary=summary[:200],
            )
        except asyncio.TimeoutError:
            pass

    def _catch_up(self) -> None:
        """Apply everything due at now, in the fixed order of rules.agenda (caller holds the lock)."""
        while (decision := due_now(self.state, workflow.now(), ordered=True)) is not None:
            self._take(decision)

    # -- actions -----------------------------------------------------------------------------------

    def _validate(self, name: str, payload: Any) -> None:
        """Update validator: refuse before anything is written to history."""
        refusal = self._judge(name, payload)
        if refusal is not None:
            raise refused(refusal)

    def _judge(self, name: str, payload: Any) -> Refusal | None:
        """Why the action would be refused now, or None.

        It judges the state as it will be when the handler runs: with whatever has fallen due at
        now applied first (a dry run on a copy; the handler applies it for real).
        """
        try:
            if self._answered(name, payload) is not None:
                return None
            now = workflow.now()
            state = caught_up(self.state, now, hold_provisional=self.period_ends) if self.due_first else self.state
            engine.check(state, name, engine.parse(name, payload), now)
        except Refusal as refusal:
            return refusal
        return None

    @workflow.signal(name=REFUSAL_NOTED, description="An update its validator refused, reported by the staff "
                     "layer: audited here, never applied")
    async def refusal_noted(self, payload: Any) -> None:
        """The audit row of a validator refusal is written by the workflow, like every other one.

        Judged under the lock, on the state caught up to now (as an action is), so the row follows
        whatever fell due first and carries the workflow's own reason; only if the state has changed
        since (the action would now pass) is the reported reason kept, marked as such. A note for a
        request_id that was accepted, or already noted, adds nothing.
        """
        if not workflow.patched(REFUSAL_NOTES):
            return  # a note buffered by a worker from before the handler: its history has no record
        await workflow.wait_condition(lambda: self.opened)
        note = self._note_of(payload)
        if note is None:
            return
        request_id = note.payload["request_id"]
        seen = f"{note.action}:{request_id}"
        async with self.lock:
            first = self.state.answered.get(request_id)
            if seen in self.state.noted_refusals or (first is not None and first.action == note.action):
                return  # noted already, or accepted: no validator refused it (a reuse by another action was)
            if self.due_first:
                await self._settle_due_periods()
                self._catch_up()
            refusal = self._judge(note.action, note.payload)
            if refusal is None:
                said = note.reported
                refusal = Refusal(said.rule_id, said.field,
                                  f"{said.message} (refused by the update validator; the state has changed since)")
            self.state = self.state.model_copy(update={
                "noted_refusals": [*self.state.noted_refusals, seen][-ANSWERS_KEPT:]})
            await self._record_refusal(note.action, note.payload, refusal, via="update")

    def _note_of(self, payload: Any) -> RefusalNote | None:
        """The note, if it names a registered action and a valid request_id; anything else is ignored."""
        try:
            note = RefusalNote.model_validate(payload)
        except ValueError as err:
            workflow.logger.warning("refusal_noted ignored: %s", _bounded(err, 300))
            return None
        request_id = note.payload.get("request_id")
        if note.action not in ACTIONS or not isinstance(request_id, str) or not valid_request_id(request_id):
            workflow.logger.warning("refusal_noted ignored: action %s, request_id not valid",
                                    _bounded(note.action, 80))
            return None
        return note

    async def _on_update(self, name: str, payload: Any) -> ActionResult:
        await workflow.wait_condition(lambda: self.opened)
        async with self.lock:
            try:
                result = await self._perform(name, payload)
            except Refusal as refusal:
                await self._record_refusal(name, payload, refusal, via="update")
                error = refused(refusal, audited=True)
            else:
                error = None
        await self._until_recorded()  # the answer, refusal or not, follows its audit row
        if error is not None:
            raise error
        return result

    async def _on_signal(self, name: str, payload: Any) -> None:
        await workflow.wait_condition(lambda: self.opened)
        async with self.lock:
            try:
                await self._perform(name, payload)
            except Refusal as refusal:
                await self._record_refusal(name, payload, refusal, via="signal")

    def _answered(self, name: str, payload: Any) -> ActionResult | None:
        """The first answer to this request_id; a request_id already used by another action is refused
        (from the due-before-actions patch on): a withdraw must not pass as a repeated advance."""
        request_id = payload.get("request_id") if isinstance(payload, dict) else None
        first = self.state.answered.get(request_id) if isinstance(request_id, str) else None
        if first is not None and self.due_first and first.action != name:
            raise Refusal("INTERFACE", "request_id", f"{request_id!r} already answered {first.action}; "
                          "every action needs a request_id of its own")
        return first

    async def _perform(self, name: str, payload: Any) -> ActionResult:
        """catch up -> check -> facts (activity) -> decide -> apply; a repeated request_id returns the first result.

        The action is judged at the moment it is taken up: what fell due before it is applied
        first; a deadline that falls due while its facts are fetched comes after it.
        """
        if self.due_first:
            await self._settle_due_periods()  # PD10: a provisional end never fires on a guess
            self._catch_up()
        first = self._answered(name, payload)
        if first is not None:
            if self.due_first:
                return first.model_copy(update={"duplicate": True})
            return first.model_copy(update={"duplicate": True, "state": self.state})
        act = engine.parse(name, payload)
        now = workflow.now()
        engine.check(self.state, name, act, now)
        facts = await self._facts(name, act, now)
        decision = engine.decide(self.state, name, act, now, facts)
        result = ActionResult(request_id=act.request_id, action=name, at=now, phase=decision.state.phase,
                              summary=decision.summary, revision=decision.state.revision)
        decision.state.answered[act.request_id] = result
        if self.due_first and len(decision.state.answered) > ANSWERS_KEPT:
            oldest = next(iter(decision.state.answered))
            del decision.state.answered[oldest]
        await self._apply(decision, event=name, actor=act.actor, request_id=act.request_id)
        await self._settle_provisional(fresh_only=True)  # PD10: the action opened a period deadline
        return result if self.due_first else result.model_copy(update={"state": self.state})

    async def _facts(self, name: str, act: Any, now: Any) -> Any:
        spec = ACTIONS[name]
        request = spec.facts(self.state, act, now) if spec.facts else None
        if request is None:
            return None
        bounded = {"schedule_to_close_timeout": FACTS_TIMEOUT} if self.due_first else {}
        try:
            return await self._local_first(
                request.activity, request.arg, result_type=request.result_type,
                start_to_close_timeout=ACTIVITY_TIMEOUT, retry_policy=RETRY, summary=request.summary, **bounded,
            )
        except ActivityError as err:
            if isinstance(err.cause, ApplicationError):
                raise Refusal(request.rule_id, request.field, err.cause.message) from None
            if not self.due_first:
                raise
            raise Refusal(request.rule_id, request.field,
                          f"could not be checked just now ({request.summary}); nothing was changed, try again") from None

    async def _record_refusal(self, name: str, payload: Any, refusal: Refusal, via: str) -> None:
        """A refused signal (or an update refused after acceptance) is kept in the state and audited.

        Everything kept from the raw payload is bounded: a refusal must not grow the state.
        """
        raw = payload if isinstance(payload, dict) else {}
        actor = raw.get("actor") if isinstance(raw.get("actor"), dict) else {}
        if self.due_first and len(self.unrecorded) >= UNRECORDED_REFUSALS_CAP:
            # PostgreSQL is away and refusals pile up: keep them in the state (bounded) but queue no
            # more records, so the carried queue can never outgrow a payload.
            workflow.logger.warning("refusal of %s not queued for the audit log: %d records wait", name,
                                    len(self.unrecorded))
            recording = False
        else:
            recording = True
        request_id = _bounded(raw.get("request_id"), 120) if isinstance(raw.get("request_id"), str) else None
        state = self.state.model_copy(deep=True)
        state.rejected = (state.rejected + [Rejection(
            at=workflow.now(), action=name, request_id=request_id, actor=_bounded(actor.get("name"), 100) if actor else None,
            via=via, rule_id=refusal.rule_id, field=refusal.field, message=refusal.message,
        )])[-REJECTIONS_KEPT:]
        state.revision += 1
        decision = Decision(state, f"refused: {refusal}", (refusal.rule_id,), detail=refusal.as_dict())
        if not recording:
            self.state = state
            self._refresh_visibility()
            return
        await self._apply(decision, event=name, request_id=request_id, outcome="rejected",
                          actor_fields={k: _bounded(actor.get(k), 100)
                                        for k in ("name", "role", "county", "user_id")})

    # -- effects -----------------------------------------------------------------------------------

    async def _apply(
        self,
        decision: Decision,
        *,
        event: str | None = None,
        actor: Actor | None = None,
        request_id: str | None = None,
        outcome: str | None = None,
        actor_fields: dict[str, Any] | None = None,
    ) -> None:
        """Take the new state and record the outcome in PostgreSQL (queued, in order), refresh the UI."""
        if self.due_first:
            self._take(decision, event=event, actor=actor, request_id=request_id, outcome=outcome,
                       actor_fields=actor_fields)
            return
        batch = self._adopt(decision, event, actor, request_id, outcome, actor_fields)
        await workflow.execute_activity(
            "record_outcomes", batch, start_to_close_timeout=ACTIVITY_TIMEOUT, retry_policy=RETRY,
            summary=f"record: {decision.summary}"[:200],
        )
        if decision.emails:
            self.mail = [t for t in self.mail if not t.done()]
            self.mail.append(asyncio.create_task(self._deliver([e.key for e in decision.emails])))
        self._refresh_visibility()

    def _take(self, decision: Decision, **who: Any) -> None:
        """Adopt a decision now and queue its record: nothing here waits for the outside world."""
        self.unrecorded.append(self._adopt(decision, who.get("event"), who.get("actor"), who.get("request_id"),
                                           who.get("outcome"), who.get("actor_fields")))
        self._start_recorder()
        self._refresh_visibility()

    def _adopt(self, decision: Decision, event: str | None, actor: Actor | None, request_id: str | None,
               outcome: str | None, actor_fields: dict[str, Any] | None) -> OutcomeBatch:
        before = self.state.phase
        self.state = decision.state
        event = event or decision.event
        who = actor_fields or (actor.model_dump(mode="json") if actor else {})
        user_id = who.get("user_id") if isinstance(who.get("user_id"), str) else None
        audit = AuditEntry(
            key=f"{self.state.lifecycle_key}:{self.state.revision}:{event}",
            center_id=self.state.center_id, at=workflow.now(), action=event,
            outcome=outcome or ("accepted" if actor else "automatic"),
            actor_name=who.get("name"), actor_role=who.get("role"), actor_county=who.get("county"),
            actor_user_id=user_id if user_id and workflow.patched(AUDIT_USER_ID) else None,
            request_id=request_id, rule_ids=list(decision.rule_ids),
            phase_before=before.value, phase_after=self.state.phase.value,
            summary=decision.summary, detail=decision.detail,
        )
        return OutcomeBatch(center_id=self.state.center_id, audits=[audit], emails=decision.emails,
                            bans=decision.bans, ledger=decision.ledger, snapshot=self._snapshot())

    def _start_recorder(self) -> None:
        if self.unrecorded and self.recorder is None:
            self.recorder = asyncio.create_task(self._record_in_order())

    async def _record_in_order(self) -> None:
        """The one writer of this run's records, oldest first; retries until PostgreSQL takes each."""
        while self.unrecorded:
            batch = self.unrecorded[0]
            self.recording_since = self.recording_since or workflow.now()
            try:
                await self._local_first(
                    "record_outcomes", batch, start_to_close_timeout=ACTIVITY_TIMEOUT, retry_policy=RETRY,
                    summary=f"record: {batch.audits[0].summary if batch.audits else 'step'}"[:200],
                )
            except ActivityError as err:  # only a non-retryable refusal (SQLSTATE 22/23) ends the retries
                self._note_record_failure(batch, err)
            self.unrecorded.pop(0)
            self.recording_since = None
        self.recorder = None

    async def _local_first(self, activity: str, arg: Any, *, result_type: type | None = None, **durable: Any) -> Any:
        """Run ``activity``: first as one short local attempt (patch LOCAL_FIRST), then, unless that
        attempt was refused for good, as the ordinary activity with ``durable`` options.

        Every activity called this way is idempotent (records by key, reads only), so an attempt cut
        off by its timeout after PostgreSQL committed is harmless when the durable one runs again.
        """
        if self.due_first and not workflow.patched(LOCAL_FIRST_OFF) and workflow.patched(LOCAL_FIRST):
            try:
                return await workflow.execute_local_activity(
                    activity, arg, result_type=result_type, start_to_close_timeout=LOCAL_ATTEMPT,
                    retry_policy=RetryPolicy(maximum_attempts=1), summary=durable.get("summary"),
                )
            except (ActivityError, ApplicationError, TemporalTimeout) as err:
                # A local activity's failure may arrive unwrapped (the SDK raises the activity's own
                # ApplicationError): callers always get an ActivityError whose cause says why.
                cause = err.cause if isinstance(err, ActivityError) else err
                if isinstance(cause, ApplicationError) and cause.non_retryable:
                    # A refusal (PD7 bans on a missing calendar, a data error): the durable activity
                    # would say the same, so the caller gets it now.
                    if isinstance(err, ActivityError):
                        raise
                    raise ActivityError(f"local activity {activity} failed", scheduled_event_id=0, started_event_id=0,
                                        identity="", activity_type=activity, activity_id="",
                                        retry_state=None) from err
                workflow.logger.info("local attempt of %s did not finish (%s); the activity takes over",
                                     activity, cause)
        return await workflow.execute_activity(activity, arg, result_type=result_type, **durable)

    def _note_record_failure(self, batch: OutcomeBatch, err: ActivityError) -> None:
        cause = err.cause.message if isinstance(err.cause, ApplicationError) else str(err)
        summary = batch.audits[0].summary if batch.audits else "a step"
        workflow.logger.error("outcome not recorded: %s (%s)", summary[:200], cause[:300])
        failure = RecordFailure(at=workflow.now(), summary=summary[:300], error=cause[:500])
        self.state.record_failures = (self.state.record_failures + [failure])[-RECORD_FAILURES_KEPT:]
        workflow.set_current_details(visibility.current_details(self.state))

    async def _until_recorded(self) -> None:
        """An accepted action answers once its own record (and every one before it) is written."""
        if self.due_first and self.unrecorded:
            last = self.unrecorded[-1]
            await workflow.wait_condition(lambda: all(b is not last for b in self.unrecorded))

    async def _deliver(self, keys: list[str]) -> None:
        """Runs before DUE_BEFORE_ACTIONS only: mail sent from the workflow after the outbox row is committed."""
        await workflow.execute_activity(
            "deliver_mail", keys, result_type=int, start_to_close_timeout=ACTIVITY_TIMEOUT, retry_policy=RETRY,
            summary=f"send {len(keys)} message(s)",
        )

    def _snapshot(self) -> CenterSnapshot:
        s = self.state
        upcoming = s.next_staff_deadline(self.hide_internal)
        overdue = s.overdue_deadlines()
        return CenterSnapshot(
            center_id=s.center_id, opened_at=s.opened_at, revision=s.revision, name=s.display_name, county=s.profile.county.value,
            field=s.profile.field.value, route=s.profile.route.value, phase=s.phase.value,
            credit_code=s.profile.implementing_entity.credit_code, lead_unit=s.profile.lead_unit.name,
            designated_on=s.designation.on if s.designation else None,
            last_grade=s.last_grade,
            next_deadline_at=upcoming.due_at if upcoming else None,
            overdue_count=len(overdue), oldest_overdue_at=overdue[0].due_at if overdue else None,
            updated_at=workflow.now(),
        )

    def _refresh_visibility(self) -> None:
        pairs = visibility.search_attributes(self.state, self.hide_internal)
        if self.due_first:
            changed = visibility.changes(self.visible, pairs)
            if changed:
                workflow.upsert_search_attributes(changed)
        elif pairs != self.visible:
            keep = {p.key.name for p in pairs}
            updates = [p.key.value_set(p.value) for p in pairs]
            updates += [p.key.value_unset() for p in self.visible if p.key.name not in keep]
            workflow.upsert_search_attributes(updates)
        self.visible = pairs
        workflow.set_current_details(visibility.current_details(self.state))


def _attach_actions(cls: type) -> type:
    """Every registered action becomes an update with a validator and a signal of the same name."""
    for spec in ACTIONS.values():
        def handlers(name: str) -> tuple[Any, Any]:
            async def update(self: CenterLifecycle, payload: Any) -> ActionResult:
                return await self._on_update(name, payload)

            def validate(self: CenterLifecycle, payload: Any) -> None:
                self._validate(name, payload)

            async def signal(self: CenterLifecycle, payload: Any) -> None:
                await self._on_signal(name, payload)

            upd = workflow.update(name=name, description=spec.description)(update)
            upd.validator(validate)
            return upd, workflow.signal(name=name, description=spec.description)(signal)

        upd, sig = handlers(spec.name)
        setattr(cls, f"update_{spec.name}", upd)
        setattr(cls, f"signal_{spec.name}", sig)
    return cls


CenterLifecycle = workflow.defn(name="CenterLifecycle")(_attach_actions(CenterLifecycle))
