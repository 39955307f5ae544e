"""`centers staff add/list/disable`: the embedded staff directory (migration 005)."""

from __future__ import annotations

import argparse
import getpass
import sys

from pydantic import ValidationError

from centers.context import Context
from centers.errors import OK, BadInput
from centers.render import table
from models.directory import County, Role
from staff import directory
from staff.identity import STAFF_ROLES, StaffUser
from staff.payloads import field_errors


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("staff", help="the portal's staff directory: add, list, disable users")
    verbs = p.add_subparsers(dest="staff_command", metavar="VERB", parser_class=type(p))
    verbs.required = True
    a = verbs.add_parser("add", help="add a user who signs in to the portal with a password (argon2)")
    a.add_argument("username")
    a.add_argument("--name", required=True, help="display name, recorded as the actor's name")
    a.add_argument("--role", required=True, choices=[r.value for r in STAFF_ROLES])
    a.add_argument("--county", choices=[c.value for c in County], help="county_department: its county")
    a.add_argument("--center", action="append", default=[], metavar="CENTER_ID",
                   help="implementing_entity: a center the user is bound to (repeatable)")
    a.add_argument("--email")
    a.add_argument("--password-stdin", action="store_true", help="read the password from stdin (else a prompt)")
    verbs.add_parser("list", help="every user, with role, county, centers and state")
    d = verbs.add_parser("disable", help="disable a user and revoke their tokens (the row stays for the audit log)")
    d.add_argument("username")


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    if not sys.stdin.isatty():
        raise BadInput("password: give --password-stdin when stdin is not a terminal")
    first = getpass.getpass("password: ")
    if first != getpass.getpass("again: "):
        raise BadInput("password: the two entries differ")
    return first


async def run(ctx: Context, args: argparse.Namespace) -> int:
    conn = await ctx.db()
    try:
        if args.staff_command == "add":
            role = Role(args.role)
            if role is Role.IMPLEMENTING_ENTITY and not args.center:
                raise BadInput("--center: an implementing_entity user is bound to at least one center")
            try:
                user = StaffUser(user_id=directory.new_user_id(), username=args.username, display_name=args.name,
                                 role=role, county=args.county, center_ids=tuple(args.center), email=args.email)
            except ValidationError as err:
                raise BadInput("; ".join(field_errors(err))) from None
            await directory.add_user(conn, user, _password(args.password_stdin))
            ctx.print(f"added {user.username} ({user.user_id}), {user.role.value}")
            if ctx.json_mode:
                ctx.emit({"outcome": "added", **user.model_dump(mode="json")})
        elif args.staff_command == "list":
            users = await directory.list_users(conn)
            if ctx.json_mode:
                ctx.emit([u.model_dump(mode="json") for u in users])
                return OK
            ctx.print(table(["username", "user id", "name", "role", "county", "centers", "state"],
                            [(u.username, u.user_id, u.display_name, u.role.value, u.county and u.county.value,
                              ",".join(u.center_ids) or None,
                              "disabled" if u.disabled else ("demo" if u.demo else "active")) for u in users]))
        else:
            user = await directory.disable_user(conn, args.username)
            ctx.print(f"disabled {user.username} ({user.user_id}); their tokens are revoked")
            if ctx.json_mode:
                ctx.emit({"outcome": "disabled", **user.model_dump(mode="json")})
    finally:
        await conn.close()
    return OK
