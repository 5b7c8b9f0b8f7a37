"""Compliance endpoints: records, evidence bundles, listings (JSON or CSV) and the audit trail.

Every endpoint needs the token of a ``compliance`` or ``admin`` staff member.
"""

from __future__ import annotations

import asyncio
import csv
import importlib
import io
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response

from parley.domain.agent import EVIDENCE_ROLES, Staff
from parley.errors import (
    ConversationNotFound,
    PdfSigningUnconfigured,
    TimestampInvalid,
    TimestampUnavailable,
    VisitorNotFound,
)
from parley.evidence import access_html
from parley.evidence.html import render
from parley.service import access, compliance, evidence
from parley.store.base import Filter
from parley.web import shapes
from parley.web.operations import JSON, Args, core_of, operation
from parley.web.params import (
    MAX_VERSION,
    PAGE,
    Choice,
    Paging,
    Reader,
    Segment,
    Text,
    Time,
    Whole,
)

#: A cell starting with one of these would be run as a formula by spreadsheet programs.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
#: The query parameters that filter acceptances and closures.
FILTERS: dict[str, Reader] = {
    "policy_id": Text(),
    "version": Whole(1, MAX_VERSION),
    "since": Time(),
    "until": Time(),
}
LISTING: dict[str, Reader] = {**PAGE, "format": Choice(("json", "csv"))}
CSV = "text/csv"
HTML = "text/html"
NEXT_CURSOR = {"X-Next-Cursor": "in CSV, the cursor of the next page; absent on the last"}
#: The disposition of a downloaded document, named after what it holds.
DISPOSITION = {"Content-Disposition": "the file name of the document"}


def _filter(args: Args, visitor_id: str | None, clause_id: str | None = None) -> Filter:
    return Filter(
        visitor_id=visitor_id,
        policy_id=args.text("policy_id"),
        version=args.whole("version"),
        clause_id=clause_id,
        since=args.text("since"),
        until=args.text("until"),
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


@operation(
    roles=EVIDENCE_ROLES,
    path={"id": Segment()},
    answers={JSON: shapes.RECORD},
    errors=(ConversationNotFound,),
)
async def conversation_record(request: Request, args: Args) -> dict[str, Any]:
    """The whole record of one conversation: acceptance, transcript, closure, chain check."""
    return await compliance.conversation_record(core_of(request), args.path("id"))


@operation(
    roles=EVIDENCE_ROLES,
    path={"id": Segment()},
    query={"format": Choice(("json", "html", "pdf"))},
    answers={JSON: shapes.EVIDENCE, HTML: None, "application/pdf": None},
    headers=DISPOSITION,
    errors=(
        ConversationNotFound, PdfSigningUnconfigured, TimestampUnavailable, TimestampInvalid,
    ),
)  # fmt: skip
async def evidence_bundle(request: Request, args: Args) -> Response:
    """The evidence bundle of one conversation: JSON, printable HTML, or a signed PDF (audited).

    A PDF needs the server's signing certificate (409 ``pdf_signing_unconfigured`` without)."""
    chosen, conversation_id = args.choice("format"), args.path("id")
    name = f"evidence-{conversation_id}.{chosen}"
    disposition = {"Content-Disposition": f'inline; filename="{name}"'}
    if chosen == "pdf":
        return await _evidence_pdf(request, args.staff, conversation_id, disposition)
    bundle = await evidence.export(core_of(request), conversation_id, args.staff.actor)
    if chosen == "html":
        return HTMLResponse(render(bundle), headers=disposition)
    return JSONResponse(bundle, headers=disposition)


@operation(
    roles=EVIDENCE_ROLES,
    path={"visitor_id": Segment()},
    query={"format": Choice(access.FORMATS)},
    answers={JSON: shapes.ACCESS_COPY, HTML: None},
    headers=DISPOSITION,
    errors=(VisitorNotFound,),
)
async def visitor_export(request: Request, args: Args) -> Response:
    """An access request's copy of everything stored about one visitor (audited)."""
    chosen, visitor_id = args.choice("format"), args.path("visitor_id")
    copy = await access.export(core_of(request), visitor_id, args.staff.actor, chosen)
    name = access.filename(visitor_id, chosen)
    disposition = {"Content-Disposition": f'attachment; filename="{name}"'}
    if chosen == "html":
        return HTMLResponse(access_html.render(copy), headers=disposition)
    return JSONResponse(copy, headers=disposition)


async def _evidence_pdf(
    request: Request, staff: Staff, conversation_id: str, headers: dict[str, str]
) -> Response:
    # WeasyPrint and pyHanko take seconds to import: only a PDF export pays it, and in a
    # thread, so the event loop serves every other request and socket meanwhile.
    await asyncio.to_thread(importlib.import_module, "parley.evidence.pdf")
    from parley.evidence import pdf

    # Loaded before the export is audited: without a certificate, nothing changes.
    signing = pdf.signing(request.app.state.settings)
    bundle = await evidence.export(core_of(request), conversation_id, staff.actor)
    document = await pdf.export(bundle, signing)
    return Response(document, media_type="application/pdf", headers=headers)


async def _acceptances(request: Request, args: Args, where: Filter) -> Any:
    paging = args.paging
    found = await compliance.acceptances(core_of(request), where, paging.after, paging.limit)
    page = _page(paging, found)
    if args.choice("format") == "csv":
        return _csv(page["items"], compliance.ACCEPTANCE_COLUMNS, page["next_cursor"])
    return page


ACCEPTANCES = {JSON: shapes.items(shapes.ACCEPTANCE, paged=True), CSV: None}


@operation(
    roles=EVIDENCE_ROLES,
    query={"visitor_id": Text(), **FILTERS, **LISTING},
    answers=ACCEPTANCES,
    headers=NEXT_CURSOR,
)
async def acceptances(request: Request, args: Args) -> Any:
    """Acceptances of the policy, by visitor, policy version and time; JSON or CSV, paged."""
    return await _acceptances(request, args, _filter(args, args.text("visitor_id")))


@operation(
    roles=EVIDENCE_ROLES,
    path={"visitor_id": Segment()},
    query={**FILTERS, **LISTING},
    answers=ACCEPTANCES,
    headers=NEXT_CURSOR,
)
async def visitor_acceptances(request: Request, args: Args) -> Any:
    """Which policy versions one visitor accepted, when and where; JSON or CSV, paged."""
    return await _acceptances(request, args, _filter(args, args.path("visitor_id")))


@operation(
    roles=EVIDENCE_ROLES,
    query={"visitor_id": Text(), "clause_id": Text(), **FILTERS, **LISTING},
    answers={JSON: shapes.CLOSURES, CSV: None},
    headers=NEXT_CURSOR,
)
async def closures(request: Request, args: Args) -> Any:
    """Closures citing a clause, with counts by clause; JSON or CSV, paged."""
    where = _filter(args, args.text("visitor_id"), args.text("clause_id"))
    paging = args.paging
    found = await compliance.closures(core_of(request), where, paging.after, paging.limit)
    page = _page(paging, found)
    if args.choice("format") == "csv":
        return _csv(page["items"], compliance.CLOSURE_COLUMNS, page["next_cursor"])
    return page


@operation(
    roles=EVIDENCE_ROLES,
    path={"policy_id": Segment(), "version": Whole(1, MAX_VERSION)},
    query=PAGE,
    answers={JSON: shapes.items(shapes.CONVERSATION, paged=True)},
)
async def policy_conversations(request: Request, args: Args) -> dict[str, Any]:
    """The conversations whose visitor accepted one policy version, paged."""
    version = args.whole("version")
    assert version is not None
    paging = args.paging
    found = await compliance.policy_conversations(
        core_of(request), args.path("policy_id"), version, paging.after, paging.limit
    )
    return _page(paging, found)


@operation(
    roles=EVIDENCE_ROLES,
    query={"conversation_id": Text(), **PAGE},
    answers={JSON: shapes.items(shapes.AUDIT_ENTRY, paged=True)},
)
async def audit(request: Request, args: Args) -> dict[str, Any]:
    """The audit trail of staff actions, oldest first, paged; or one conversation's thread."""
    paging = args.paging
    found = await compliance.audit(
        core_of(request), paging.after, paging.limit, args.text("conversation_id")
    )
    return _page(paging, found)
