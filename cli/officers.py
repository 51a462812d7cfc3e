"""`officers add|list|grant|revoke|link`: operators manage who may act, and until when."""

from __future__ import annotations

import argparse
from datetime import date
from typing import Any

from cli.runtime import CommandError, make_app, operator_language, print_json
from core import i18n
from core.services import access


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from exc


def register(sub: argparse._SubParsersAction, command: Any) -> None:
    p = command("add", "create an officer responsible for organisations", sub)
    p.add_argument("--email", required=True)
    p.add_argument("--name", required=True, help='"Given Surname"')
    p.add_argument("--nrn", required=True, help="national register number (never logged)")
    p.add_argument("--org", action="append", default=[], metavar="CODE")
    p.add_argument("--valid-until", type=_date, metavar="DATE")
    p.add_argument("--language", default="fr", choices=("fr", "nl", "de", "en"))
    p.add_argument("--role", action="append", choices=access.ROLES, metavar="ROLE",
                   help="officer (default), helpdesk, admin; repeat for several")
    p.set_defaults(func=add)
    p = command("list", "officers, organisations, access and chat links", sub)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=list_officers)
    p = command("grant", "extend an officer's access (one year by default)", sub)
    p.add_argument("--email", required=True)
    p.add_argument("--until", type=_date, metavar="DATE")
    p.set_defaults(func=grant)
    p = command("revoke", "end an officer's access now", sub)
    p.add_argument("--email", required=True)
    p.set_defaults(func=revoke)
    p = command("link", "operator override of the eID link (audited)", sub)
    p.add_argument("--email", required=True)
    target = p.add_mutually_exclusive_group(required=True)
    target.add_argument("--slack", metavar="TEAM:USER")
    target.add_argument("--teams", metavar="TENANT:OBJECTID")
    p.set_defaults(func=link)
    p = command("unlink", "end a chat account's link to its officer (audited)", sub)
    target = p.add_mutually_exclusive_group(required=True)
    target.add_argument("--slack", metavar="TEAM:USER")
    target.add_argument("--teams", metavar="TENANT:OBJECTID")
    p.set_defaults(func=unlink)


def add(args: argparse.Namespace) -> int:
    app = make_app()
    with app.unit_of_work() as uow:
        officer = access.add_officer(uow, access.NewOfficer(
            email=args.email, name=args.name, nrn=args.nrn, organisations=args.org,
            valid_until=args.valid_until, language=args.language,
            roles=tuple(args.role or ("officer",))))
        print(f"officer {officer.email} added for {', '.join(args.org).upper()}, "
              f"access valid until {i18n.day(operator_language(), officer.valid_until)}")
    return 0


def as_json(officer: Any) -> dict[str, Any]:
    return {"email": officer.email, "name": officer.display_name,
            "organisations": [o.code for o in officer.organisations],
            "language": officer.language.value, "roles": officer.roles.split(","),
            "valid_until": officer.valid_until.isoformat() if officer.valid_until else None,
            "links": [{"platform": i.platform, "workspace": i.workspace, "user": i.user_ref,
                       "via": i.linked_via, "linked_at": i.linked_at.isoformat()}
                      for i in officer.identities]}


def list_officers(args: argparse.Namespace) -> int:
    app = make_app()
    with app.unit_of_work(readonly=True) as uow:
        rows = [as_json(o) for o in access.list_officers(uow)]
    if args.json:
        print_json(rows)
        return 0
    for row in rows:
        links = ", ".join(f"{x['platform']}:{x['workspace']}:{x['user']}" for x in row["links"])
        print(f"{row['email']:<36} {row['name']:<24} {','.join(row['organisations']):<12} "
              f"until {row['valid_until']}  {links}")
    if not rows:
        print("no officer yet: add one with `itma-assistant officers add`")
    return 0


def grant(args: argparse.Namespace) -> int:
    app = make_app()
    with app.unit_of_work() as uow:
        officer = access.grant(uow, args.email, args.until)
        until = i18n.day(operator_language(), officer.valid_until)
        print(f"{officer.email}: access valid until {until}")
    return 0


def revoke(args: argparse.Namespace) -> int:
    app = make_app()
    with app.unit_of_work() as uow:
        officer = access.revoke(uow, args.email)
        print(f"{officer.email}: access ended")
    return 0


def chat_account(args: argparse.Namespace) -> tuple[str, str, str]:
    platform, value = ("slack", args.slack) if args.slack else ("teams", args.teams)
    workspace, sep, user = value.partition(":")
    if not sep or not workspace or not user:
        raise CommandError(f"--{platform}: expected WORKSPACE:USER, got {value!r}")
    return platform, workspace, user


def unlink(args: argparse.Namespace) -> int:
    platform, workspace, user = chat_account(args)
    app = make_app()
    with app.unit_of_work() as uow:
        officer = access.unlink_identity(uow, platform, workspace, user)
        print(f"{platform} {workspace}:{user} no longer acts as {officer.email}")
    return 0


def link(args: argparse.Namespace) -> int:
    platform, workspace, user = chat_account(args)
    app = make_app()
    with app.unit_of_work() as uow:
        officer = access.officer_by_email(uow, args.email)
        access.link_identity(uow, officer, platform, workspace, user, via="operator")
        print(f"{platform} {workspace}:{user} now acts as {officer.email}")
    return 0
