"""Tasks: read a backlog item, activate it, execute tasks one by one or a whole project's.

Job types: ``epic_activation``, ``story_activation``, ``task_activation``,
``subtask_activation``, ``task_execution`` and ``batch_execution``. ``routes`` validates and
enqueues; ``handlers`` (activation, execution) and ``batch`` (a project's tasks) do the work;
``data`` reads and writes items and executions.
"""

from orbit.planning.tasks.handlers import register
from orbit.planning.tasks.routes import router

__all__ = ["register", "router"]
