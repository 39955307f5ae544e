"""CenterLifecycle: one center's whole life as one durable workflow (INTERFACE.md, DESIGN.md).

The workflow only waits, calls activities and applies decisions; every rule lives in ``rules/``.
Each staff action in ``rules.engine.ACTIONS`` becomes an update (validated before anything is
written to history) and a signal of the same name (refusals recorded, never failing the task).
"""

from __future__ import annotations

import asyncio
from datetime import date, timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributePair
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    import email_validator  # noqa: F401  loaded lazily by pydantic's EmailStr; pass it through up front

    from models.actor import Actor
    from models.effects import AuditEntry, CenterSnapshot, OutcomeBatch
    from models.state import ActionResult, CenterState, LifecycleInput, Rejection
    from rules import engine
    from rules.agenda import due_now, next_wakeup
    from rules.calendar import end_of_day, local_date
    from rules.catalog import ACTIONS
    from rules.designation import open_lifecycle
    from rules.engine import Decision, Refusal
    from workflows import visibility

ACTIVITY_TIMEOUT = timedelta(minutes=2)
RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=5))
REJECTIONS_KEPT = 50
# Patch (docs/rollout.md): NextDeadline and the status board skip internal timers such as the yearly
# M1 marker. Runs recorded before it keep the marker there, so their search-attribute upserts replay.
HIDE_INTERNAL_DEADLINES = "hide-internal-deadlines"
# Patch: the audit row carries the signed-in user's stable id (portal). Only an action whose actor
# has a user_id asks for it, so histories recorded before it (none has one) replay unchanged.
AUDIT_USER_ID = "portal-audit-user-id"


def refused(refusal: Refusal) -> ApplicationError:
    """The error a client sees: names the field and the rule (details carry both)."""
    return ApplicationError(str(refusal), refusal.as_dict(), type="ActionRefused", non_retryable=True)


class CenterLifecycle:
    @workflow.init
    def __init__(self, input: LifecycleInput) -> None:
        self.state = input.state or CenterState(
            profile=input.profile, policy=input.policy, offices=input.offices, opened_at=workflow.now()
        )
        self.lock = asyncio.Lock()
        self.opened = input.state is not None  # handlers wait until the opening step is recorded
        self.mail: list[asyncio.Task[None]] = []
        self.visible: list[SearchAttributePair] = []
        self.hide_internal = False  # set in run(); see HIDE_INTERNAL_DEADLINES


    @workflow.run
    async def run(self, input: LifecycleInput) -> CenterState:
        self.hide_internal = workflow.patched(HIDE_INTERNAL_DEADLINES)
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
                await self._finish_in_flight_work()
                workflow.continue_as_new(
                    LifecycleInput(profile=self.state.profile, policy=self.state.policy,
                                   offices=self.state.offices, state=self.state)
                )
        await self._finish_in_flight_work()
        return self.state

    @workflow.query(description="The whole live state: phase, deadlines, grades, money, objections, refusals")
    def state(self) -> CenterState:
        return self.state

    # -- waiting ---------------------------------------------------------------------------------

    async def _sleep_until_something_is_due(self, run_year: int) -> None:
        """Sleep until the earliest reminder or deadline, the new year (continue-as-new), or a change."""
        revision = self.state.revision
        new_year = end_of_day(date(run_year, 12, 31))
        wake = next_wakeup(self.state)
        at, summary = wake if wake and wake[0] < new_year else (new_year, "new year: continue-as-new")
        delay = at - workflow.now()
        if delay <= timedelta(0):
            return
        try:
            await workflow.wait_condition(
                lambda: self.state.revision != revision or workflow.info().is_continue_as_new_suggested(),
                timeout=delay, timeout_summary=summary[:200],
            )
        except asyncio.TimeoutError:
            pass

    async def _finish_in_flight_work(self) -> None:
        await workflow.wait_condition(workflow.all_handlers_finished)
        await asyncio.gather(*self.mail)
        self.mail.clear()

    # -- actions -----------------------------------------------------------------------------------

    def _validate(self, name: str, payload: Any) -> None:
        """Update validator: refuse before anything is written to history."""
        if self._answered(payload) is not None:
            return
        try:
            engine.check(self.state, name, engine.parse(name, payload), workflow.now())
        except Refusal as refusal:
            raise refused(refusal) from None

    async def _on_update(self, name: str, payload: Any) -> ActionResult:
        await workflow.wait_condition(lambda: self.opened)
        async with self.lock:
            try:
                return await self._perform(name, payload)
            except Refusal as refusal:
                await self._record_refusal(name, payload, refusal, via="update")
                raise refused(refusal) from None

    async def _on_signal(self, name: str, payload: Any) -> None:
        await workflow.wait_condition(lambda: self.opened)
        async with self.lock:
            try:
                await self._perform(name, payload)
            except Refusal as refusal:
                await self._record_refusal(name, payload, refusal, via="signal")

    def _answered(self, payload: Any) -> ActionResult | None:
        request_id = payload.get("request_id") if isinstance(payload, dict) else None
        return self.state.answered.get(request_id) if isinstance(request_id, str) else None

    async def _perform(self, name: str, payload: Any) -> ActionResult:
        """check -> facts (activity) -> decide -> apply; a repeated request_id returns the first result."""
        first = self._answered(payload)
        if first is not None:
            return first.model_copy(update={"duplicate": True, "state": self.state})
        act = engine.parse(name, payload)
        now = workflow.now()
        engine.check(self.state, name, act, now)
        spec = ACTIONS[name]
        facts = None
        request = spec.facts(self.state, act, now) if spec.facts else None
        if request is not None:
            try:
                facts = await workflow.execute_activity(
                    request.activity, request.arg, result_type=request.result_type,
                    start_to_close_timeout=ACTIVITY_TIMEOUT, retry_policy=RETRY, summary=request.summary,
                )
            except ActivityError as err:
                if isinstance(err.cause, ApplicationError):
                    raise Refusal(request.rule_id, request.field, err.cause.message) from None
                raise
        decision = engine.decide(self.state, name, act, now, facts)
        result = ActionResult(request_id=act.request_id, action=name, at=now,
                              phase=decision.state.phase, summary=decision.summary)
        decision.state.answered[act.request_id] = result
        await self._apply(decision, event=name, actor=act.actor, request_id=act.request_id)
        return result.model_copy(update={"state": self.state})

    async def _record_refusal(self, name: str, payload: Any, refusal: Refusal, via: str) -> None:
        """A refused signal (or an update refused after acceptance) is kept in the state and audited."""
        raw = payload if isinstance(payload, dict) else {}
        actor = raw.get("actor") if isinstance(raw.get("actor"), dict) else {}
        request_id = raw.get("request_id") if isinstance(raw.get("request_id"), str) else None
        state = self.state.model_copy(deep=True)
        state.rejected = (state.rejected + [Rejection(
            at=workflow.now(), action=name, request_id=request_id, actor=str(actor.get("name")) if actor else None,
            via=via, rule_id=refusal.rule_id, field=refusal.field, message=refusal.message,
        )])[-REJECTIONS_KEPT:]
        state.revision += 1
        decision = Decision(state, f"refused: {refusal}", (refusal.rule_id,), detail=refusal.as_dict())
        await self._apply(decision, event=name, request_id=request_id, outcome="rejected",
                          actor_fields={k: actor.get(k) for k in ("name", "role", "county", "user_id")})

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
        """Take the new state, record the outcome in PostgreSQL, send its mail, refresh the UI."""
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
        batch = OutcomeBatch(center_id=self.state.center_id, audits=[audit], emails=decision.emails,
                             bans=decision.bans, ledger=decision.ledger, snapshot=self._snapshot())
        await workflow.execute_activity(
            "record_outcomes", batch, start_to_close_timeout=ACTIVITY_TIMEOUT, retry_policy=RETRY,
            summary=f"record: {decision.summary}"[:200],
        )
        if decision.emails:
            self.mail = [t for t in self.mail if not t.done()]
            self.mail.append(asyncio.create_task(self._deliver([e.key for e in decision.emails])))
        self._refresh_visibility()

    async def _deliver(self, keys: list[str]) -> None:
        """Mail goes out after the outbox row is committed; an SMTP outage does not block actions."""
        await workflow.execute_activity(
            "deliver_mail", keys, result_type=int, start_to_close_timeout=ACTIVITY_TIMEOUT, retry_policy=RETRY,
            summary=f"send {len(keys)} message(s)",
        )

    def _snapshot(self) -> CenterSnapshot:
        s = self.state
        grades = s.operating.grades
        upcoming = s.next_staff_deadline(self.hide_internal)
        return CenterSnapshot(
            center_id=s.center_id, opened_at=s.opened_at, revision=s.revision, name=s.display_name, county=s.profile.county.value,
            field=s.profile.field.value, route=s.profile.route.value, phase=s.phase.value,
            credit_code=s.profile.implementing_entity.credit_code, lead_unit=s.profile.lead_unit.name,
            designated_on=s.designation.on if s.designation else None,
            last_grade=grades[max(grades)] if grades else None,
            next_deadline_at=upcoming.due_at if upcoming else None, updated_at=workflow.now(),
        )

    def _refresh_visibility(self) -> None:
        pairs = visibility.search_attributes(self.state, self.hide_internal)
        if pairs != self.visible:
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
