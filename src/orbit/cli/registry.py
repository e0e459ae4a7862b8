"""Which job handlers the CLI's workers run: the app's own plus an optional jobs module.

``ORBIT_JOBS_MODULE`` (or ``--jobs-module``) names an importable ``JobRegistry`` as
``package.module:attribute`` (the attribute defaults to ``registry``). Its job types are
added to the application's; the current directory is importable, as with uvicorn.

Example:
    $ ORBIT_JOBS_MODULE=myapp.jobs:registry orbit worker
"""

from __future__ import annotations

import importlib
import logging
import os
import sys

from orbit.jobs import ConfigurationError, JobRegistry
from orbit.settings import Settings

log = logging.getLogger("orbit.cli")

DEFAULT_ATTRIBUTE = "registry"


def load_registry(settings: Settings) -> JobRegistry:
    """The job handlers of ``settings.jobs_module`` (added to the app's own by ``Runtime``)."""
    registry = JobRegistry()
    target = getattr(settings, "jobs_module", None)
    if target:
        extra = import_registry(target)
        for name in extra:
            try:
                registry.register(extra.get(name))
            except ValueError as exc:
                raise ConfigurationError(f"jobs module {target!r}: {exc}") from exc
        log.info("loaded job types from %s: %s", target, ", ".join(extra.names()) or "none")
    return registry


def import_registry(target: str) -> JobRegistry:
    """Import the ``JobRegistry`` named by ``package.module[:attribute]``."""
    module_name, _, attribute = target.partition(":")
    if not module_name:
        raise ConfigurationError(f"invalid jobs module {target!r}: expected package.module:name")
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        found: object = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigurationError(f"cannot import jobs module {module_name!r}: {exc}") from exc
    for part in (attribute or DEFAULT_ATTRIBUTE).split("."):
        try:
            found = getattr(found, part)
        except AttributeError:
            raise ConfigurationError(f"jobs module {target!r}: no attribute {part!r}") from None
    if not isinstance(found, JobRegistry):
        kind = type(found).__name__
        raise ConfigurationError(f"jobs module {target!r} is a {kind}, not a JobRegistry")
    return found
