"""``orbit.jobs.http``: the jobs HTTP API as a FastAPI router factory, and its helpers.

An application composes it::

    app.state.client = JobClient(store)          # in the lifespan
    app.state.registry = registry
    install_problem_handlers(app)                # RFC 9457 problem+json errors
    app.include_router(jobs_router(), prefix="/api/v1")
    app.add_middleware(BodyLimitMiddleware, max_bytes=1024 * 1024)
    app.add_middleware(BearerTokenMiddleware, token="s3cret")   # optional

and its own enqueueing routes answer with ``accepted(job)``, taking the
``Idempotency-Key`` header through the ``idempotency_key`` dependency (which answers a
repeated request with its job before the route runs). An ``async`` route hands its
store work to ``without_blocking`` (``nonblocking.py``): at once on SQLite when nothing
is in the way, else in the thread pool.

Live progress (``streams.py``): ``GET /jobs/{id}/events``, ``GET /jobs/events`` and
``GET /events`` are Server-Sent Events, ``GET /jobs/{id}?wait=S`` long-polls
(``polling.py``). They are woken through ``JobClient.subscribe`` (the store's change
feed: one database watcher per process, which the application's lifespan starts and
closes) and read
``app.state.event_streams`` (a ``StreamOptions``) when set. Nothing here imports the store.

Like the rest of the engine, it imports nothing else from ``orbit``.
"""

from orbit.jobs.http.dependencies import (
    ClientDep,
    IdempotencyHeaderDep,
    IdempotencyKeyDep,
    JobDep,
    RegistryDep,
    ScopedKeyDep,
    get_client,
    get_registry,
    idempotency_key,
    load_job,
    parse_duration,
)
from orbit.jobs.http.inputs import (
    INT64_MAX,
    InputModel,
    NulFreeText,
    StorableDatetime,
)
from orbit.jobs.http.nonblocking import without_blocking
from orbit.jobs.http.problems import (
    PROBLEM_MEDIA_TYPE,
    Problem,
    install_problem_handlers,
    problem_response,
)
from orbit.jobs.http.responses import accepted, etag_for, job_location
from orbit.jobs.http.routes import jobs_router
from orbit.jobs.http.schemas import Accepted, EnqueueRequest, JobList, JobOut, JobStats
from orbit.jobs.http.security import (
    TOKEN_COOKIE,
    BearerTokenMiddleware,
    BodyLimitMiddleware,
    PayloadTooLarge,
)
from orbit.jobs.http.streams import StreamOptions
from orbit.jobs.http.tokens import StreamTokens
from orbit.jobs.storable import check_json_value

__all__ = [
    "INT64_MAX",
    "PROBLEM_MEDIA_TYPE",
    "TOKEN_COOKIE",
    "Accepted",
    "BearerTokenMiddleware",
    "BodyLimitMiddleware",
    "ClientDep",
    "EnqueueRequest",
    "IdempotencyHeaderDep",
    "IdempotencyKeyDep",
    "InputModel",
    "JobDep",
    "JobList",
    "JobOut",
    "JobStats",
    "NulFreeText",
    "PayloadTooLarge",
    "Problem",
    "RegistryDep",
    "ScopedKeyDep",
    "StorableDatetime",
    "StreamOptions",
    "StreamTokens",
    "accepted",
    "check_json_value",
    "etag_for",
    "get_client",
    "get_registry",
    "idempotency_key",
    "install_problem_handlers",
    "job_location",
    "jobs_router",
    "load_job",
    "parse_duration",
    "problem_response",
    "without_blocking",
]
