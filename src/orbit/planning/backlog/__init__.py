"""Backlog generation: epic → stories → tasks from an interview, as ``backlog_generation`` jobs.

``routes`` validates and enqueues; ``handlers`` asks the AI step by step and saves each
level once; ``data`` reads and writes backlog items.
"""

from orbit.planning.backlog.handlers import register
from orbit.planning.backlog.routes import router

__all__ = ["register", "router"]
