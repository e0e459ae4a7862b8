"""Sample inputs for every named operation, as the application renders them.

Used by ``orbit ai check``, by the benchmark against a real model and by the
real-server tests: one small, realistic product (a recipe-sharing app) carried
through the interview, the backlog, activation, execution and a commit.
"""

from __future__ import annotations

from typing import Any

IDEA = "A web app where home cooks share recipes and plan their meals for the week."

TRANSCRIPT = [
    {
        "question": "Who will use the app first?",
        "answer": "Busy parents who cook at home and want to save time planning dinners.",
    },
    {
        "question": "What must the first release do?",
        "answer": "Save recipes, search them by ingredient, and build a weekly meal plan.",
    },
]

EPIC = {
    "kind": "epic",
    "title": "Recipe sharing and weekly meal planning",
    "description": "Busy parents save recipes, find them by ingredient and plan a week.",
}

STORY = {
    "kind": "story",
    "title": "Plan the week's dinners",
    "description": "As a parent, I want to drag recipes onto a weekly plan so that "
    "I know what to cook each day.",
}

TASK = {
    "kind": "task",
    "title": "Add the weekly plan API",
    "description": "Endpoints to create a plan and put a recipe on a day.",
    "acceptance_criteria": ["A recipe can be put on any day of the week"],
}

SAMPLES: dict[str, dict[str, Any]] = {
    "interview.next_question": {"idea": IDEA, "transcript": TRANSCRIPT},
    "backlog.epic": {"idea": IDEA, "transcript": TRANSCRIPT},
    "backlog.stories": {"epic": EPIC, "idea": IDEA, "transcript": TRANSCRIPT},
    "backlog.tasks": {"epic": EPIC, "story": STORY},
    "activation.fill": {"item": STORY, "parent": EPIC, "context": IDEA},
    "execution.run": {"task": TASK, "story": STORY},
    "commit.message": {
        "title": TASK["title"],
        "description": TASK["description"],
        "scope": "plans",
        "diff": "+@router.post('/plans')\n+def create_plan(body: PlanIn) -> PlanOut: ...",
    },
}
"""The variables each operation's prompt is rendered with."""


def sample_variables(name: str) -> dict[str, Any]:
    """A copy of the sample variables of operation ``name``."""
    return dict(SAMPLES[name])
