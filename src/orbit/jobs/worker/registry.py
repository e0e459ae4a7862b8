"""The job-type registry: which handler runs each job type, and with what policy.

Example:
    >>> registry = JobRegistry()
    >>> @registry.job("interview_message", max_attempts=3, timeout_seconds=120)
    ... async def interview_message(ctx, interview_id: str, message: str) -> dict:
    ...     await ctx.progress(25, "Calling AI model...")
    ...     return {"success": True}
    >>> interview_message.enqueue(client, interview_id="…", message="hi")  # type-checked
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Callable, Iterator
from typing import Any, Concatenate, ParamSpec, TypeVar

from orbit.jobs.errors import UnknownJobType
from orbit.jobs.models import JSON
from orbit.jobs.retry import BackoffPolicy
from orbit.jobs.worker.handle import JobHandle
from orbit.jobs.worker.periodic import Schedule

Handler = Callable[..., Any]
P = ParamSpec("P")
R = TypeVar("R")


@dataclasses.dataclass(frozen=True, slots=True)
class JobDefinition:
    """A registered job type."""

    name: str
    handler: Handler
    max_attempts: int = 3
    timeout_seconds: float | None = None
    backoff: BackoffPolicy = dataclasses.field(default_factory=BackoffPolicy)
    is_async: bool = dataclasses.field(init=False, repr=False, compare=False)
    """Async handlers run on the worker's loop; sync ones run in threads."""

    def __post_init__(self) -> None:
        # Asked of every job a worker starts: decided once.
        object.__setattr__(self, "is_async", inspect.iscoroutinefunction(self.handler))


class JobRegistry:
    """An open set of job types (plain strings), each with its handler."""

    def __init__(self) -> None:
        self._definitions: dict[str, JobDefinition] = {}
        self._schedules: dict[str, Schedule] = {}

    def register(self, definition: JobDefinition) -> None:
        """Add a job type; registering a name twice is a mistake and raises ``ValueError``."""
        if definition.name in self._definitions:
            raise ValueError(f"job type {definition.name!r} is already registered")
        self._definitions[definition.name] = definition

    def job(
        self,
        name: str,
        *,
        max_attempts: int = 3,
        timeout_seconds: float | None = None,
        backoff: BackoffPolicy | None = None,
    ) -> Callable[[Callable[Concatenate[Any, P], R]], JobHandle[P, R]]:
        """Decorator that registers a handler under ``name``; returns its typed handle."""

        def decorate(handler: Callable[Concatenate[Any, P], R]) -> JobHandle[P, R]:
            self.register(
                JobDefinition(
                    name, handler, max_attempts, timeout_seconds, backoff or BackoffPolicy()
                )
            )
            return JobHandle(name, handler)

        return decorate

    def schedule(
        self,
        name: str,
        cron: str,
        job_type: str,
        input_data: dict[str, JSON] | None = None,
        *,
        queue: str = "default",
    ) -> Schedule:
        """Enqueue ``job_type`` at every tick of ``cron`` (UTC), once per tick across workers."""
        if name in self._schedules:
            raise ValueError(f"schedule {name!r} is already registered")
        self._schedules[name] = Schedule(name, cron, job_type, input_data or {}, queue)
        return self._schedules[name]

    @property
    def schedules(self) -> list[Schedule]:
        """Every periodic schedule, by name."""
        return [self._schedules[n] for n in sorted(self._schedules)]

    def get(self, name: str) -> JobDefinition:
        """The definition of ``name``; raises ``UnknownJobType``."""
        try:
            return self._definitions[name]
        except KeyError:
            raise UnknownJobType(name) from None

    def __contains__(self, name: object) -> bool:
        return name in self._definitions

    def __iter__(self) -> Iterator[str]:
        return iter(self._definitions)

    def names(self) -> list[str]:
        """Every registered job type, sorted."""
        return sorted(self._definitions)
