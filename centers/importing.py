"""`centers import FILE`: bring in a center designated before the service existed (INTERFACE.md).

The file is checked at the door like every payload (models/importing.py); the staff layer checks it
against the rule book (rules/importing.py) and starts the lifecycle in its current phase; the
workflow records the import as one audited step.
"""

from __future__ import annotations

from centers.context import Context
from centers.errors import OK
from models.importing import ImportCenter
from staff import service
from centers.payloads import fill_envelope, read_json
from staff.payloads import validate


async def import_center(ctx: Context, file: str, *, request_id: str | None, actor_name: str | None,
                        actor_role: str | None, actor_county: str | None) -> int:
    data, _ = fill_envelope(read_json(file, what="import file"), request_id=request_id, actor_name=actor_name,
                            actor_role=actor_role, actor_county=actor_county)
    imp = validate(ImportCenter, data, "import file")
    assert isinstance(imp, ImportCenter)
    started = await service.start(ctx, imp.profile, imported=imp)
    ctx.print(f"imported {started.workflow_id} (run {started.run_id}) in phase {started.phase}, from {imp.source_ref}")
    ctx.print(f"web UI  {started.ui_link}")
    if ctx.json_mode:
        ctx.emit({"outcome": "imported", "workflow_id": started.workflow_id, "run_id": started.run_id,
                  "phase": started.phase, "source_ref": imp.source_ref, "ui": started.ui_link})
    return OK
