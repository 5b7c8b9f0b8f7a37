"""Parley: a chat-widget backend for customer support with conduct-policy enforcement."""

__version__ = "0.1.0"
