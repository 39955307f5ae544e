"""`centers db status`: which migrations the database has, and which are waiting for a worker to apply."""

from __future__ import annotations

from centers.context import Context
from centers.errors import FAILED, OK
from db.migrate import applied_migrations, checksum, migration_files


async def status(ctx: Context) -> int:
    """Exit 0 when every file is applied unchanged; 1 when some are pending or an applied one was edited."""
    conn = await ctx.db()
    try:
        applied = await applied_migrations(conn)
    finally:
        await conn.close()
    rows = []
    for path in migration_files():
        row = applied.pop(path.name, None)
        if row is None:
            state = "pending"
        elif row["checksum"] != checksum(path.read_text(encoding="utf-8")):
            state = "changed"  # edited after it was applied: the worker refuses to start
        else:
            state = "applied"
        rows.append({"name": path.name, "state": state,
                     "applied_at": row["applied_at"].isoformat() if row else None})
    # Applied by a newer release than this CLI's: not wrong, worth seeing during a rollback.
    rows += [{"name": name, "state": "unknown to this release", "applied_at": r["applied_at"].isoformat()}
             for name, r in applied.items()]
    if ctx.json_mode:
        ctx.emit({"migrations": rows})
    else:
        for r in rows:
            ctx.print(f"{r['state']:<24} {r['name']}  {r['applied_at'] or ''}".rstrip())
    pending = [r["name"] for r in rows if r["state"] in ("pending", "changed")]
    if pending:
        ctx.warn(f"{len(pending)} migration(s) not applied as shipped: {', '.join(pending)} -- a worker applies "
                 "pending ones when it starts; a changed one needs a new NNN_*.sql file instead")
        return FAILED
    ctx.print(f"{len(rows)} migration(s), all applied")
    return OK
