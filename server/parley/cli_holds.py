"""``parley holds``: place, lift and list legal holds as the operator (audited)."""

from __future__ import annotations

import argparse
from typing import Any

from parley.cli_common import settings_from, with_core
from parley.domain.audit import OPERATOR
from parley.domain.holds import Hold, HoldScope
from parley.service import holds
from parley.service.core import Core
from parley.store.base import MAX_PAGE


def _line(h: Hold) -> str:
    state = f"lifted {h.lifted_at}" if h.lifted_at else "in force"
    return (
        f"{h.id}  {state}  {h.scope.value} {h.target}  placed {h.placed_at} "
        f"by {h.placed_by['name']}: {h.reason}"
    )


def cmd_holds_place(args: argparse.Namespace) -> int:
    scope = HoldScope.CONVERSATION if args.conversation else HoldScope.VISITOR
    target = args.conversation or args.visitor
    hold = with_core(
        settings_from(args), lambda core: holds.place(core, scope, target, args.reason, OPERATOR)
    )
    print(f"placed {hold.id} on {scope.value} {target}")
    return 0


def cmd_holds_lift(args: argparse.Namespace) -> int:
    hold = with_core(
        settings_from(args), lambda core: holds.lift(core, args.hold_id, args.reason, OPERATOR)
    )
    print(f"lifted {hold.id} at {hold.lifted_at}: {hold.lift_reason}")
    return 0


def cmd_holds_list(args: argparse.Namespace) -> int:
    async def work(core: Core) -> None:
        cursor = None
        while True:
            page = await holds.listing(core, not args.all, cursor, MAX_PAGE)
            for h in page.items:
                print(_line(h))
            if (cursor := page.next_cursor) is None:
                break

    with_core(settings_from(args), work)
    return 0


def register(commands: Any, common: argparse.ArgumentParser) -> None:
    """Add ``parley holds`` to the ``parley`` parser."""
    held = commands.add_parser("holds", help="place, lift and list legal holds")
    hold_commands = held.add_subparsers(dest="holds_command", required=True)
    place = hold_commands.add_parser(
        "place", parents=[common], help="keep a conversation, or all of a visitor's (audited)"
    )
    target = place.add_mutually_exclusive_group(required=True)
    target.add_argument("--conversation", metavar="ID", help="hold this conversation")
    target.add_argument("--visitor", metavar="ID", help="hold every conversation of this visitor")
    place.add_argument("--reason", required=True, help="why, for the record and the audit trail")
    place.set_defaults(run=cmd_holds_place)
    lift = hold_commands.add_parser("lift", parents=[common], help="lift a hold (audited)")
    lift.add_argument("hold_id")
    lift.add_argument("--reason", required=True, help="why, for the record and the audit trail")
    lift.set_defaults(run=cmd_holds_lift)
    listing = hold_commands.add_parser("list", parents=[common], help="holds in force")
    listing.add_argument("--all", action="store_true", help="also lifted ones")
    listing.set_defaults(run=cmd_holds_list)
