"""Commits: AI-written commit messages for an executed task or a described change.

``routes`` enqueues ``commit_generation`` jobs and lists saved commits; ``handlers`` runs them.
"""

from orbit.planning.commits.handlers import register
from orbit.planning.commits.routes import router

__all__ = ["register", "router"]
