"""Compliance endpoints: records, evidence bundles, listings (JSON or CSV) and the audit trail.

Every endpoint needs the token of a ``compliance`` or ``admin`` staff member.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response

from parley.domain.agent import EVIDENCE_ROLES
from parley.errors import BadRequest
from parley.evidence.html import render
from parley.service import compliance, evidence
from parley.store.base import Filter
from parley.web.api import core_of, int_param, json_endpoint, paging, staff_of

#: A cell starting with one of these would be run as a formula by spreadsheet programs.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _filter(request: Request, **fixed: Any) -> Filter:
    q = request.query_params
    return Filter(
        visitor_id=fixed.get("visitor_id", q.get("visitor_id")),
        policy_id=q.get("policy_id"),
        version=int_param(request, "version"),
        clause_id=q.get("clause_id"),
        since=compliance.parse_time("since", q.get("since")),
        until=compliance.parse_time("until", q.get("until")),
    )


def _format(request: Request, allowed: tuple[str, ...]) -> str:
    chosen = request.query_params.get("format", allowed[0])
    if chosen not in allowed:
        raise BadRequest(f"format must be one of {', '.join(allowed)}")
    return chosen


def _csv(rows: list[dict[str, Any]], columns: list[str], next_cursor: str | None) -> Response:
    """One page as CSV; the cursor of the next page, if any, in ``X-Next-Cursor``."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(columns)
    for row in rows:
        cells = ["" if row.get(c) is None else str(row[c]) for c in columns]
        writer.writerow(["'" + c if c.startswith(FORMULA_START) else c for c in cells])
    headers = {"X-Next-Cursor": next_cursor} if next_cursor else {}
    return Response(out.getvalue(), media_type="text/csv; charset=utf-8", headers=headers)


@json_endpoint
async def conversation_record(request: Request) -> dict[str, Any]:
    await staff_of(request, EVIDENCE_ROLES)
    return await compliance.conversation_record(core_of(request), request.path_params["id"])


@json_endpoint
async def evidence_bundle(request: Request) -> Response:
    staff = await staff_of(request, EVIDENCE_ROLES)
    chosen = _format(request, ("json", "html"))
    bundle = await evidence.export(core_of(request), request.path_params["id"], staff.actor)
    name = f"evidence-{request.path_params['id']}.{chosen}"
    disposition = {"Content-Disposition": f'inline; filename="{name}"'}
    if chosen == "html":
        return HTMLResponse(render(bundle), headers=disposition)
    return JSONResponse(bundle, headers=disposition)


async def _acceptances(request: Request, where: Filter) -> Any:
    chosen = _format(request, ("json", "csv"))
    cursor, limit = paging(request)
    page = await compliance.acceptances(core_of(request), where, cursor, limit)
    if chosen == "csv":
        return _csv(page["items"], compliance.ACCEPTANCE_COLUMNS, page["next_cursor"])
    return page


@json_endpoint
async def acceptances(request: Request) -> Any:
    await staff_of(request, EVIDENCE_ROLES)
    return await _acceptances(request, _filter(request))


@json_endpoint
async def visitor_acceptances(request: Request) -> Any:
    await staff_of(request, EVIDENCE_ROLES)
    return await _acceptances(
        request, _filter(request, visitor_id=request.path_params["visitor_id"])
    )


@json_endpoint
async def closures(request: Request) -> Any:
    await staff_of(request, EVIDENCE_ROLES)
    chosen = _format(request, ("json", "csv"))
    cursor, limit = paging(request)
    page = await compliance.closures(core_of(request), _filter(request), cursor, limit)
    if chosen == "csv":
        return _csv(page["items"], compliance.CLOSURE_COLUMNS, page["next_cursor"])
    return page


@json_endpoint
async def policy_conversations(request: Request) -> dict[str, Any]:
    await staff_of(request, EVIDENCE_ROLES)
    cursor, limit = paging(request)
    return await compliance.policy_conversations(
        core_of(request),
        request.path_params["policy_id"],
        request.path_params["version"],
        cursor,
        limit,
    )


@json_endpoint
async def audit(request: Request) -> dict[str, Any]:
    await staff_of(request, EVIDENCE_ROLES)
    cursor, limit = paging(request)
    return await compliance.audit(
        core_of(request), cursor, limit, request.query_params.get("conversation_id")
    )
