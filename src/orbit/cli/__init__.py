"""``orbit``: the command line — ``serve``, ``worker``, ``db`` and ``jobs``.

Commands are noun–verb (``orbit jobs list``, ``orbit db check``). Data goes to stdout
(``--json`` prints one JSON document for scripts), status and log lines go to stderr.
Exit codes: 0 success, 1 failure (job not found, invalid transition, job failed,
database error), 2 usage or configuration error. Every option also reads an ``ORBIT_*``
environment variable.
"""
