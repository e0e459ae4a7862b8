"""FastAPI dependencies shared by the app's routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from orbit.planning.services import PlanningServices


async def get_services(request: Request) -> PlanningServices:
    """The app's services, set on ``app.state.planning`` by ``create_app``.

    ``async`` because it only reads ``app.state``: FastAPI runs a plain ``def`` dependency
    in its thread pool, a hop that cost ~0.4 ms of every request.
    """
    services: PlanningServices = request.app.state.planning
    return services


ServicesDep = Annotated[PlanningServices, Depends(get_services)]
