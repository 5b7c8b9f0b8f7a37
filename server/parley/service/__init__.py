"""Codec output -> domain -> store -> effects. Imports no web framework.

:class:`~parley.service.core.Core` holds what every session shares;
:class:`~parley.service.visitor.VisitorSession` and
:class:`~parley.service.agent.AgentSession` drive one WebSocket each.
"""

from parley.service.agent import AgentSession
from parley.service.core import Core
from parley.service.visitor import VisitorSession

__all__ = ["AgentSession", "Core", "VisitorSession"]
