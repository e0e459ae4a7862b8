"""The Orbit web application: ``create_app(settings)`` composes the jobs API and the app."""

from orbit.api.app import create_app

__all__ = ["create_app"]
