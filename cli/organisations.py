"""`organisations list|set`: the organisations and where their chat notifications go."""

from __future__ import annotations

import argparse
from typing import Any

from sqlalchemy import select

from cli.runtime import make_app, print_json
from core.models import Organisation
from core.services import access


def register(sub: argparse._SubParsersAction, command: Any) -> None:
    p = command("list", "organisations and their notification channels", sub)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=list_organisations)
    p = command("set", "set where an organisation's new-registration cards go", sub)
    p.add_argument("code")
    target = p.add_mutually_exclusive_group(required=True)
    target.add_argument("--slack-channel", metavar="TEAM:CHANNEL")
    target.add_argument("--no-slack-channel", action="store_true")
    p.set_defaults(func=set_channel)


def list_organisations(args: argparse.Namespace) -> int:
    app = make_app()
    with app.unit_of_work(readonly=True) as uow:
        rows = [{"code": o.code, "names": o.names, "languages": o.languages.split(","),
                 "slack_channel": o.slack_channel}
                for o in uow.session.scalars(select(Organisation).order_by(Organisation.code))]
    if args.json:
        print_json(rows)
    else:
        for row in rows:
            print(f"{row['code']:<8} {row['names'].get('fr', ''):<50} "
                  f"{row['slack_channel'] or '-'}")
    return 0


def set_channel(args: argparse.Namespace) -> int:
    app = make_app()
    with app.unit_of_work() as uow:
        organisation = access.set_slack_channel(
            uow, args.code, None if args.no_slack_channel else args.slack_channel)
        print(f"{organisation.code}: Slack channel {organisation.slack_channel or 'none'}")
    return 0
