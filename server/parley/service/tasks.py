"""Work the server does on its own: anchoring open conversations, and policy changeovers."""

from __future__ import annotations

import asyncio
import logging

from parley import metrics
from parley.bus.messages import PolicyInForce, StaffRevoked
from parley.domain.policy import in_force
from parley.errors import StoreUnavailable
from parley.service import evidence
from parley.service.core import Core, policy_view

log = logging.getLogger("parley.tasks")


async def anchor_periodically(core: Core, interval: float) -> None:
    """Anchor the heads that moved every ``interval`` seconds."""
    while True:
        await asyncio.sleep(interval)
        try:
            await evidence.anchor_moved(core)
            metrics.anchored()
        except StoreUnavailable as e:
            log.warning("periodic anchoring failed (%s); retrying at the next interval", e)
        except Exception:
            log.exception("periodic anchoring failed; retrying at the next interval")


async def watch_revocations(core: Core, interval: float = 1.0) -> None:
    """Close the sockets of tokens revoked by another process (the CLI, another server).

    Revocations made through this process are announced on the bus at once;
    this catches the rest within ``interval`` seconds. Every agent action also
    re-checks its token, so no action is accepted after a revocation commits.
    """
    announced = {s.id for s in await core.store.staff() if s.revoked_at}
    while True:
        await asyncio.sleep(interval)
        try:
            revoked = [s for s in await core.store.staff() if s.revoked_at]
        except StoreUnavailable as e:
            log.warning("could not read staff revocations: %s", e)
            continue
        except Exception:
            log.exception("could not read staff revocations")
            continue
        for staff in revoked:
            if staff.id not in announced:
                announced.add(staff.id)
                await core.bus.publish(StaffRevoked(staff.id, staff.revoked_at or ""))


async def announce_policy_changes(core: Core, poll: float = 60.0) -> None:
    """When a published version's effective time arrives, offer it to visitors at the gate.

    Sleeps until the next effective time (or ``poll`` seconds, to see versions
    published meanwhile), then tells every visitor session on the POLICY topic.
    """
    current = core.policy_in_force()
    while True:
        now = core.clock()
        upcoming = [v.effective for v in core.policies() if v.effective > now]
        delay = min([(t - now).total_seconds() for t in upcoming] + [poll])
        await asyncio.sleep(max(delay, 0.05))
        try:
            await core.refresh_policies()
            latest = in_force(core.policies(), core.clock())
        except StoreUnavailable as e:
            log.warning("could not refresh the published policies: %s", e)
            continue
        except Exception:
            log.exception("could not refresh the published policies")
            continue
        if latest is not None and latest != current:
            current = latest
            log.info("policy %s v%d is now in force", latest.policy_id, latest.version)
            await core.bus.publish(PolicyInForce(policy_view(latest)))
