"""The app's migration history, beside the engine's (own version table)."""

from orbit.jobs.store.migrate import Migrations
from orbit.planning.schema import metadata

PLANNING = Migrations("orbit.planning:migrations", "orbit_planning_version", metadata)
