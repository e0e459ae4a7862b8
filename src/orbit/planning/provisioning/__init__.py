"""Provisioning: give a project a workspace with a stack's scaffold and a git repository.

``routes`` lists stacks and enqueues ``project_provisioning``; ``handlers`` runs it;
``stacks`` holds the scaffolds and ``workspace`` writes files and the git repository.
"""

from orbit.planning.provisioning.handlers import register
from orbit.planning.provisioning.routes import router

__all__ = ["register", "router"]
