"""The offline provider: deterministic, derived from its input, delay and streaming."""

from __future__ import annotations

import asyncio
import re
import time
from typing import Any

import pytest

from orbit.ai import (
    PROMPT_SCHEMAS,
    ActivationDetails,
    AIConfig,
    AIInvalidOutput,
    CallRecord,
    CommitMessage,
    EpicDraft,
    ExecutionResult,
    InterviewReply,
    OfflineProvider,
    StoriesDraft,
    TasksDraft,
    create_provider,
    render_prompt,
)

RECIPE_ANSWERS = [
    "I want to build a recipe sharing app with meal planning for busy families.",
    "Home cooks and busy parents who plan dinners for the whole week.",
    "Recipes are scattered across websites and planning the week's meals takes too long.",
    "Users can save recipes, plan meals for the week, generate a shopping list, "
    "and share recipes with friends",
    "Mobile-first web app; must integrate with Google Calendar.",
    "1,000 weekly active families after three months.",
]

BIKE_ANSWERS = [
    "An online booking service for bike repair shops.",
    "Cycling commuters and the mechanics who run small repair shops.",
    "Booking a repair means phone calls and long waits.",
    "book a repair slot, track repair status, pay online",
    "Web only, Stripe for payments.",
    "Half of all bookings made online within six months.",
]


async def interview(provider: OfflineProvider, answers: list[str]) -> list[dict[str, str]]:
    """Run the offline interview, answering each question with the next answer."""
    transcript: list[dict[str, str]] = []
    for answer in answers:
        prompt = render_prompt("interview.next_question", transcript=transcript)
        turn = await provider.structured(prompt, InterviewReply)
        assert not turn.done
        transcript.append({"question": turn.message, "answer": answer})
    return transcript


async def backlog(answers: list[str]) -> tuple[EpicDraft, StoriesDraft, TasksDraft]:
    provider = OfflineProvider()
    transcript = await interview(provider, answers)
    epic = await provider.structured(
        render_prompt("backlog.epic", transcript=transcript), EpicDraft
    )
    stories = await provider.structured(
        render_prompt("backlog.stories", transcript=transcript, epic=epic), StoriesDraft
    )
    tasks = await provider.structured(
        render_prompt("backlog.tasks", epic=epic, story=stories.stories[0]), TasksDraft
    )
    return epic, stories, tasks


async def test_interview_questions_follow_a_sensible_sequence() -> None:
    provider = OfflineProvider()
    transcript = await interview(provider, RECIPE_ANSWERS)
    questions = [turn["question"] for turn in transcript]

    assert len(set(questions)) == len(questions) == 6
    assert "building" in questions[0]
    assert "users of the recipe sharing app" in questions[1]
    assert "problem" in questions[2] and "features" in questions[3]
    assert "constraints" in questions[4] and "success" in questions[5]
    closing = await provider.structured(
        render_prompt("interview.next_question", transcript=transcript), InterviewReply
    )
    assert closing.done
    assert "save recipes" in closing.message


async def test_first_question_builds_on_the_idea_when_given() -> None:
    provider = OfflineProvider()
    prompt = render_prompt("interview.next_question", idea="A habit tracker for runners")
    turn = await provider.structured(prompt, InterviewReply)
    assert turn.message.startswith("Tell me more about the habit tracker")


async def test_backlog_is_derived_from_the_interview() -> None:
    epic, stories, tasks = await backlog(RECIPE_ANSWERS)

    assert epic.title == "Recipe sharing app with meal planning for busy families"
    assert "Home cooks and busy parents" in epic.description
    assert "Google Calendar" in epic.description
    titles = [story.title for story in stories.stories]
    assert titles == [
        "Save recipes",
        "Plan meals for the week",
        "Generate a shopping list",
        "Share recipes with friends",
    ]
    assert all(s.description.startswith("As a home cook, I want") for s in stories.stories)
    assert 3 <= len(tasks.tasks) <= 6
    assert all("recipes" in task.title for task in tasks.tasks)


async def test_different_interviews_give_different_backlogs() -> None:
    recipe_epic, recipe_stories, _ = await backlog(RECIPE_ANSWERS)
    bike_epic, bike_stories, _ = await backlog(BIKE_ANSWERS)

    assert "bike repair" in bike_epic.title.lower()
    assert "recipe" not in bike_epic.description.lower()
    assert [s.title for s in bike_stories.stories] == [
        "Book a repair slot",
        "Track repair status",
        "Pay online",
    ]
    assert recipe_stories != bike_stories and recipe_epic != bike_epic


async def test_short_interview_still_yields_a_story_about_the_product() -> None:
    transcript = [{"question": "What are you building?", "answer": "A podcast app"}]
    prompt = render_prompt("backlog.stories", transcript=transcript, epic={"title": "Podcasts"})
    stories = await OfflineProvider().structured(prompt, StoriesDraft)
    assert stories.stories
    assert any("podcast app" in s.title.lower() for s in stories.stories)


async def test_same_input_gives_the_same_output() -> None:
    transcript = [{"question": "", "answer": a} for a in RECIPE_ANSWERS]
    prompt = render_prompt("backlog.stories", transcript=transcript, epic={"title": "Recipes"})

    first = await OfflineProvider().complete(prompt)
    second = await OfflineProvider().complete(prompt)
    structured = [await OfflineProvider().structured(prompt, StoriesDraft) for _ in range(2)]

    assert first.text == second.text
    assert (first.tokens_in, first.tokens_out) == (second.tokens_in, second.tokens_out)
    assert structured[0] == structured[1]
    assert first.text == structured[0].as_text()


async def test_activation_fills_description_and_acceptance_criteria() -> None:
    item = {"kind": "story", "title": "Plan meals for the week", "description": ""}
    details = await OfflineProvider().structured(
        render_prompt("activation.fill", item=item, parent={"title": "Recipe app"}),
        ActivationDetails,
    )
    assert details.description.startswith("Plan meals for the week.")
    assert len(details.acceptance_criteria) >= 3
    assert any("plan meals for the week" in c for c in details.acceptance_criteria)
    assert details.notes == ["Part of: Recipe app."]


async def test_execution_outputs_a_plan_and_a_code_sketch() -> None:
    task = {"title": "Implement the API to save recipes", "description": "Expose endpoints."}
    result = await OfflineProvider().structured(
        render_prompt("execution.run", task=task, story={"title": "Save recipes"}),
        ExecutionResult,
    )
    assert result.summary.startswith('Implement "Implement the API to save recipes"')
    assert "## Plan" in result.output and "```python" in result.output
    assert "async def save_recipes(" in result.output
    assert len(result.steps) >= 3


@pytest.mark.parametrize(
    ("variables", "expected"),
    [
        (
            {"title": "Implement the API to save recipes", "description": "Adds endpoints."},
            "feat: implement the API to save recipes",
        ),
        ({"title": "Fixes crash when the shopping list is empty"}, "fix: crash when the"),
        (
            {
                "title": "Explain deployment",
                "diff": "diff --git a/docs/deploy.md b/docs/deploy.md\n+++ b/docs/deploy.md\n+x\n",
            },
            "docs(docs): explain deployment",
        ),
        (
            {
                "title": "Add recipe search",
                "diff": "+++ b/src/app/recipes/search.py\n+def search(): ...\n",
            },
            "feat(recipes): add recipe search",
        ),
    ],
)
async def test_commit_message_is_conventional(variables: dict[str, Any], expected: str) -> None:
    message = await OfflineProvider().structured(
        render_prompt("commit.message", **variables), CommitMessage
    )
    assert message.subject.startswith(expected)
    assert re.match(
        r"^(feat|fix|docs|test|refactor|perf|build|ci|chore)(\([a-z0-9-]+\))?: ", message.subject
    )
    assert len(message.subject) <= 72
    if "diff" in variables:
        assert "Changed: 1 file, 1 insertion(+)" in message.body


@pytest.mark.parametrize("name", sorted(PROMPT_SCHEMAS))
async def test_every_operation_has_a_valid_offline_answer(name: str) -> None:
    examples: dict[str, dict[str, Any]] = {
        "backlog.stories": {"epic": {"title": "Recipes"}},
        "backlog.tasks": {"story": {"title": "Save recipes"}},
        "activation.fill": {"item": {"kind": "task", "title": "Design the data model"}},
        "execution.run": {"task": {"title": "Build the user interface to plan meals"}},
        "commit.message": {"title": "Add meal plans"},
    }
    required = examples.get(name, {})
    output = await OfflineProvider().structured(
        render_prompt(name, **required), PROMPT_SCHEMAS[name]
    )
    assert isinstance(output, PROMPT_SCHEMAS[name])


async def test_unknown_operation_gets_a_plain_answer_but_no_structured_one() -> None:
    from orbit.ai import Message, Prompt

    prompt = Prompt("chat.free_form", (Message("user", "Summarise the meal planning idea."),))
    provider = OfflineProvider()

    completion = await provider.complete(prompt)
    assert "meal planning idea" in completion.text
    with pytest.raises(AIInvalidOutput):
        await provider.structured(prompt, EpicDraft)


async def test_delay_is_honoured_without_blocking_the_event_loop() -> None:
    provider = create_provider(AIConfig(provider="offline", offline_delay_ms=200))
    prompt = render_prompt("commit.message", title="Add meal plans")
    ticked = asyncio.Event()

    async def ticker() -> None:
        ticked.set()

    started = time.monotonic()
    call = asyncio.create_task(provider.complete(prompt))
    tick = asyncio.create_task(ticker())
    await asyncio.wait_for(ticked.wait(), timeout=5)
    await tick
    assert not call.done()  # the event loop kept running during the delay
    completion = await asyncio.wait_for(call, timeout=5)

    assert time.monotonic() - started >= 0.2
    assert completion.latency_ms >= 200


async def test_stream_spreads_chunks_over_the_delay() -> None:
    provider = OfflineProvider(delay_ms=150)
    prompt = render_prompt("execution.run", task={"title": "Implement the API to save recipes"})

    started = time.monotonic()
    arrivals: list[float] = []
    async with provider.stream(prompt) as stream:
        chunks = []
        async for chunk in stream:
            chunks.append(chunk)
            arrivals.append(time.monotonic() - started)

    assert len(chunks) > 10
    assert all(len(chunk) <= 40 for chunk in chunks)
    assert arrivals[-1] >= 0.15
    assert arrivals[0] < arrivals[-1]
    full = await OfflineProvider().complete(prompt)
    assert "".join(chunks) == full.text
    assert stream.completion is not None and stream.completion.text == full.text


async def test_offline_calls_are_recorded() -> None:
    records: list[CallRecord] = []
    provider = create_provider(AIConfig(), recorder=records.append)
    prompt = render_prompt("commit.message", title="Add meal plans")

    await provider.complete(prompt)
    await provider.stream(prompt).collect()
    await provider.structured(prompt, CommitMessage)

    assert [r.operation for r in records] == ["complete", "stream", "structured"]
    assert all(r.ok and r.provider == "offline" and r.model == "orbit-offline-1" for r in records)
    assert all(r.prompt_name == "commit.message" for r in records)
    assert all(r.tokens_in > 0 and r.tokens_out > 0 for r in records)


async def test_stream_closed_early_is_recorded_as_unfinished() -> None:
    records: list[CallRecord] = []
    provider = OfflineProvider(recorder=records.append)
    prompt = render_prompt("execution.run", task={"title": "Write the docs"})

    async with provider.stream(prompt) as stream:
        first = await anext(stream)

    assert first
    [record] = records
    assert not record.ok and record.error == "stream closed before it finished"
