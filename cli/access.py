"""`officers requests|approve|refuse`: access and renewal requests, decided by an operator
through the same use case as administrators' cards and mail replies (access.decide)."""

from __future__ import annotations

import argparse
from typing import Any

from cli.runtime import make_app, operator_language, print_json
from core import phrases
from core.services import access


def register(sub: argparse._SubParsersAction, command: Any) -> None:
    p = command("requests", "pending access and renewal requests", sub)
    p.add_argument("--json", action="store_true")
    p.add_argument("--all", action="store_true", help="decided requests too")
    p.set_defaults(func=list_requests)
    p = command("approve", "approve an access or renewal request", sub)
    p.add_argument("id", type=int)
    p.set_defaults(func=approve)
    p = command("refuse", "refuse an access or renewal request, with a reason", sub)
    p.add_argument("id", type=int)
    p.add_argument("--reason", required=True)
    p.set_defaults(func=refuse)


def list_requests(args: argparse.Namespace) -> int:
    app = make_app()
    with app.unit_of_work(readonly=True) as uow:
        found = access.all_requests(uow) if args.all else access.pending_requests(uow)
        rows = [access.request_as_json(r) for r in found]
        lines = [phrases.access_line(operator_language(), r) for r in found]
    if args.json:
        print_json(rows)
        return 0
    for line, row in zip(lines, rows, strict=True):
        print(f"{line} [{row['state']}]")
    if not rows:
        print("no pending access request")
    return 0


def _decide(request_id: int, approved: bool, reason: str | None) -> int:
    app = make_app()
    with app.unit_of_work() as uow:
        decision = access.decide(uow, None, request_id, approved, reason, via="operator")
        print(phrases.access_decision_text(operator_language(), decision))
    return 0 if decision.changed else 1


def approve(args: argparse.Namespace) -> int:
    return _decide(args.id, True, None)


def refuse(args: argparse.Namespace) -> int:
    return _decide(args.id, False, args.reason)
