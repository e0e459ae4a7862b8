"""``JobHandle``: what ``@registry.job`` returns, to enqueue a job type with checked arguments.

The handle is typed from the handler's signature (minus its first parameter, the
context), so a type checker reports a misspelt or mistyped argument at the call site,
and the same signature checks the arguments at run time before anything is written.
The handle stays callable exactly like the handler it wraps.

Example:
    >>> @registry.job("hello")
    ... async def hello(ctx, name: str, times: int = 1) -> dict: ...
    >>> job = hello.enqueue(client, name="Ada")          # mypy: name must be a str
    >>> hello.options(priority=5, idempotency_key="k").enqueue(client, name="Ada")
    >>> ids = hello.enqueue_many(client, [{"name": "Ada"}, {"name": "Grace"}])
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import uuid
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, Concatenate, Generic, ParamSpec, TypeVar

from orbit.jobs.models import JSON, Job, JobSpec

if TYPE_CHECKING:  # the client imports the registry module for its type only
    from orbit.jobs.client import JobClient

P = ParamSpec("P")
R_co = TypeVar("R_co", covariant=True)


class JobHandle(Generic[P, R_co]):
    """A registered job type: call it like its handler, or enqueue it through a client."""

    def __init__(
        self,
        name: str,
        handler: Callable[Concatenate[Any, P], R_co],
        defaults: Mapping[str, Any] | None = None,
    ) -> None:
        self.name = name
        self.handler = handler
        self._defaults: dict[str, Any] = dict(defaults or {})
        self._signature = inspect.signature(handler)
        functools.update_wrapper(self, handler)

    def __call__(self, ctx: Any, *args: P.args, **kwargs: P.kwargs) -> R_co:
        return self.handler(ctx, *args, **kwargs)

    def options(self, **spec_fields: Any) -> JobHandle[P, R_co]:
        """The same handle with other ``JobSpec`` fields (priority, project_id, run_at, …)."""
        allowed = {f.name for f in dataclasses.fields(JobSpec)} - {"job_type", "input_data"}
        unknown = sorted(set(spec_fields) - allowed)
        if unknown:
            raise TypeError(f"unknown job option(s): {', '.join(unknown)}")
        return JobHandle(self.name, self.handler, {**self._defaults, **spec_fields})

    def spec(self, *args: P.args, **kwargs: P.kwargs) -> JobSpec:
        """The ``JobSpec`` this call would enqueue (arguments checked against the handler)."""
        return JobSpec(self.name, self._input(args, kwargs), **self._defaults)

    def enqueue(self, client: JobClient, *args: P.args, **kwargs: P.kwargs) -> Job:
        """Enqueue one job of this type with the handler's arguments."""
        return client.enqueue_spec(self.spec(*args, **kwargs))

    def enqueue_many(
        self, client: JobClient, calls: Iterable[Mapping[str, JSON]]
    ) -> list[uuid.UUID]:
        """Enqueue one job per mapping of keyword arguments, in one transaction.

        Each mapping is checked against the handler's signature before any is written;
        ``spec`` gives the statically checked form for ``client.enqueue_many``.
        """
        specs = [JobSpec(self.name, self._input((), call), **self._defaults) for call in calls]
        return client.enqueue_many(specs)

    def _input(self, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> dict[str, JSON]:
        # The worker calls handler(ctx, **input_data): bind with a stand-in context so a
        # wrong argument fails here, before a job that could never run is stored.
        try:
            bound = self._signature.bind(None, *args, **kwargs)
        except TypeError as exc:
            raise TypeError(f"job {self.name!r}: {exc}") from None
        arguments = dict(bound.arguments)
        arguments.pop(next(iter(self._signature.parameters)))
        for name, parameter in self._signature.parameters.items():
            if parameter.kind is inspect.Parameter.VAR_KEYWORD and name in arguments:
                arguments.update(arguments.pop(name))
            elif parameter.kind is inspect.Parameter.VAR_POSITIONAL and name in arguments:
                raise TypeError(f"job {self.name!r}: *{name} cannot be stored by name")
        return arguments
