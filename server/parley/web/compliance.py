"""Compliance endpoints: records, evidence bundles, listings (JSON or CSV) and the audit trail.

Every endpoint needs the token of a ``compliance`` or ``admin`` staff member.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response

from parley.domain.agent import EVIDENCE_ROLES, Staff
from parley.evidence import access_html
from parley.evidence.html import render
from parley.service import access, compliance, evidence
from parley.store.base import Filter
from parley.web.api import core_of, cursors_of, json_endpoint, staff_of
from parley.web.params import MAX_VERSION, Paging, Params

#: A cell starting with one of these would be run as a formula by spreadsheet programs.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
#: The query parameters that filter acceptances and closures.
FILTERS = ("policy_id", "version", "since", "until")
LISTING = ("limit", "cursor", "format")


def _filter(q: Params, visitor_id: str | None = None) -> Filter:
    return Filter(
        visitor_id=visitor_id if visitor_id is not None else q.text("visitor_id"),
        policy_id=q.text("policy_id"),
        version=q.whole("version", 1, MAX_VERSION),
        clause_id=q.text("clause_id"),
        since=q.time("since"),
        until=q.time("until"),
    )


def _page(paging: Paging, page: dict[str, Any]) -> dict[str, Any]:
    """A page as the API answers it: the store's position sealed into an opaque cursor."""
    return {**page, "next_cursor": paging.next_cursor(page["next_cursor"])}


def _cell(value: Any) -> str:
    """A CSV cell: empty for null, a list (the erased fields) as its items separated by spaces,
    a boolean as in JSON."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return " ".join(value) if isinstance(value, list) else str(value)


def _csv(rows: list[dict[str, Any]], columns: list[str], next_cursor: str | None) -> Response:
    """One page as CSV; the cursor of the next page, if any, in ``X-Next-Cursor``."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(columns)
    for row in rows:
        cells = [_cell(row.get(c)) for c in columns]
        writer.writerow(["'" + c if c.startswith(FORMULA_START) else c for c in cells])
    headers = {"X-Next-Cursor": next_cursor} if next_cursor else {}
    return Response(out.getvalue(), media_type="text/csv; charset=utf-8", headers=headers)


@json_endpoint
async def conversation_record(request: Request) -> dict[str, Any]:
    await staff_of(request, EVIDENCE_ROLES)
    Params(request)
    return await compliance.conversation_record(core_of(request), request.path_params["id"])


@json_endpoint
async def evidence_bundle(request: Request) -> Response:
    staff = await staff_of(request, EVIDENCE_ROLES)
    chosen = Params(request, "format").choice("format", ("json", "html", "pdf"))
    name = f"evidence-{request.path_params['id']}.{chosen}"
    disposition = {"Content-Disposition": f'inline; filename="{name}"'}
    if chosen == "pdf":
        return await _evidence_pdf(request, staff, disposition)
    bundle = await evidence.export(core_of(request), request.path_params["id"], staff.actor)
    if chosen == "html":
        return HTMLResponse(render(bundle), headers=disposition)
    return JSONResponse(bundle, headers=disposition)


@json_endpoint
async def visitor_export(request: Request) -> Response:
    """An access request's copy of everything stored about one visitor (audited)."""
    staff = await staff_of(request, EVIDENCE_ROLES)
    chosen = Params(request, "format").choice("format", access.FORMATS)
    visitor_id = request.path_params["visitor_id"]
    copy = await access.export(core_of(request), visitor_id, staff.actor, chosen)
    name = access.filename(visitor_id, chosen)
    disposition = {"Content-Disposition": f'attachment; filename="{name}"'}
    if chosen == "html":
        return HTMLResponse(access_html.render(copy), headers=disposition)
    return JSONResponse(copy, headers=disposition)


async def _evidence_pdf(request: Request, staff: Staff, headers: dict[str, str]) -> Response:
    # WeasyPrint and pyHanko take a second to import: only a PDF export pays it.
    from parley.evidence import pdf

    # Loaded before the export is audited: without a certificate, nothing changes.
    signing = pdf.signing(request.app.state.settings)
    bundle = await evidence.export(core_of(request), request.path_params["id"], staff.actor)
    document = await pdf.export(bundle, signing)
    return Response(document, media_type="application/pdf", headers=headers)


async def _acceptances(request: Request, q: Params, where: Filter) -> Any:
    chosen = q.choice("format", ("json", "csv"))
    paging = q.paging(cursors_of(request))
    found = await compliance.acceptances(core_of(request), where, paging.after, paging.limit)
    page = _page(paging, found)
    if chosen == "csv":
        return _csv(page["items"], compliance.ACCEPTANCE_COLUMNS, page["next_cursor"])
    return page


@json_endpoint
async def acceptances(request: Request) -> Any:
    await staff_of(request, EVIDENCE_ROLES)
    q = Params(request, "visitor_id", *FILTERS, *LISTING)
    return await _acceptances(request, q, _filter(q))


@json_endpoint
async def visitor_acceptances(request: Request) -> Any:
    await staff_of(request, EVIDENCE_ROLES)
    q = Params(request, *FILTERS, *LISTING)
    return await _acceptances(request, q, _filter(q, request.path_params["visitor_id"]))


@json_endpoint
async def closures(request: Request) -> Any:
    await staff_of(request, EVIDENCE_ROLES)
    q = Params(request, "visitor_id", "clause_id", *FILTERS, *LISTING)
    where, chosen = _filter(q), q.choice("format", ("json", "csv"))
    paging = q.paging(cursors_of(request))
    found = await compliance.closures(core_of(request), where, paging.after, paging.limit)
    page = _page(paging, found)
    if chosen == "csv":
        return _csv(page["items"], compliance.CLOSURE_COLUMNS, page["next_cursor"])
    return page


@json_endpoint
async def policy_conversations(request: Request) -> dict[str, Any]:
    await staff_of(request, EVIDENCE_ROLES)
    q = Params(request, "limit", "cursor")
    version = q.path_whole("version", 1, MAX_VERSION)
    paging = q.paging(cursors_of(request))
    found = await compliance.policy_conversations(
        core_of(request), request.path_params["policy_id"], version, paging.after, paging.limit
    )
    return _page(paging, found)


@json_endpoint
async def audit(request: Request) -> dict[str, Any]:
    await staff_of(request, EVIDENCE_ROLES)
    q = Params(request, "conversation_id", "limit", "cursor")
    conversation_id, paging = q.text("conversation_id"), q.paging(cursors_of(request))
    found = await compliance.audit(core_of(request), paging.after, paging.limit, conversation_id)
    return _page(paging, found)
