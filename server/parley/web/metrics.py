"""``/metrics``: this process's Prometheus series (:mod:`parley.metrics`).

On the main port it answers only an ``admin`` staff token (401 without a valid
token, 403 for another role). With ``PARLEY_METRICS_ADDRESS`` set, a second
listener serves the same page without a token and nothing else (404 for every
other path): keep that address on a network only Prometheus reaches.
"""

from __future__ import annotations

import logging

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from parley import metrics
from parley.errors import StoreUnavailable
from parley.service.core import Core
from parley.store.base import Filter
from parley.web.admin import ADMIN
from parley.web.errors import fault, routing
from parley.web.operations import Args, core_of, json_endpoint, operation
from parley.web.params import query_of

log = logging.getLogger("parley.metrics")


async def exposition(core: Core) -> Response:
    """The series, with the gauges read from the lobby and the store refreshed first.

    A store that cannot be read leaves those gauges at their last values: the rest
    (connections, errors, store latency) matters most exactly then.
    """
    try:
        closed = sum(c.count for c in await core.store.closure_counts(Filter()))
        metrics.counted(core.lobby.counts(), closed, await core.store.moved_head_count())
    except StoreUnavailable as e:
        log.warning("metrics: the store's counts are not refreshed (%s)", e)
    body, content_type = metrics.exposition()
    return Response(body, headers={"Content-Type": content_type})


@operation(roles=ADMIN, answers={"text/plain": None})
async def admin_metrics(request: Request, args: Args) -> Response:
    """This process's Prometheus series, in the text exposition format.

    See docs/deployment.md, "Metrics": every series and its labels, and how to scrape
    each process of a deployment (`PARLEY_METRICS_ADDRESS`)."""
    return await exposition(core_of(request))


def listener_app(main: Starlette) -> Starlette:
    """The app behind ``PARLEY_METRICS_ADDRESS``: ``GET /metrics`` without a token, only that.

    ``main`` is the server's own application, whose core it reads.
    """

    @json_endpoint
    async def open_metrics(request: Request) -> Response:
        query_of(request, {})
        return await exposition(main.state.core)

    app = Starlette(
        routes=[Route("/metrics", open_metrics)],
        exception_handlers={HTTPException: routing, Exception: fault},
    )
    app.router.redirect_slashes = False  # not even a redirect to the API's paths
    return app
