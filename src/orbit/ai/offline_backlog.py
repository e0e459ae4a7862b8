"""Offline answers for the interview and backlog operations.

Everything here is a pure function of the prompt variables: the interview
transcript is condensed into a `Brief` (product, users, problem, features,
constraints, success) from which the epic, its stories and their tasks are
written.  Same input, same output.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from orbit.ai.keyphrases import (
    as_action,
    capitalize,
    clean_phrase,
    first_sentence,
    key_phrases,
    object_of,
    singular,
    split_items,
    starts_with_verb,
    words,
)
from orbit.ai.schemas import (
    MAX_ITEMS,
    EpicDraft,
    InterviewReply,
    StoriesDraft,
    StoryDraft,
    TaskDraft,
    TasksDraft,
)

TOPICS = ("idea", "users", "problem", "features", "constraints", "success")

_TOPIC_HINTS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("success", ("success", "measure", "metric", "kpi", "outcome")),
    ("constraints", ("constraint", "platform", "integrat", "deadline", "stack", "budget")),
    ("features", ("feature", "must-have", "must have", "capabilit", "first release", "mvp")),
    ("problem", ("problem", "pain", "struggl", "frustrat", "slow")),
    ("users", ("who ", "users", "audience", "customer", "persona")),
    ("idea", ("building", "idea", "product", "describe")),
)

_OWN_QUESTIONS = (
    ("what are you building", "idea"),
    ("tell me more about", "idea"),
    ("who are the primary users", "users"),
    ("what problem does it solve", "problem"),
    ("which features are must-haves", "features"),
    ("any constraints", "constraints"),
    ("how will you know", "success"),
)
"""Prefixes of the offline interviewer's own questions, recognised before any hint."""

_BENEFITS: tuple[tuple[tuple[str, ...], str], ...] = (
    (
        ("share", "invite", "follow", "comment", "friend", "social"),
        "others can benefit from it too",
    ),
    (("search", "find", "browse", "filter", "discover"), "I can quickly find what I need"),
    (("plan", "schedule", "calendar", "book", "reserve", "week"), "I can organise ahead"),
    (("notify", "remind", "alert", "notification"), "I never miss anything important"),
    (("save", "favorite", "favourite", "bookmark", "collect"), "I can come back to it later"),
    (("track", "report", "dashboard", "stat", "analytic"), "I can see my progress at a glance"),
    (("list", "order", "pay", "checkout", "buy", "cart"), "I get what I need with less effort"),
    (("account", "login", "sign", "profile", "onboard"), "my data stays personal and secure"),
    (("import", "export", "sync", "integrat", "connect"), "it works with the tools I already use"),
)

_EXTRA_TASKS: tuple[tuple[tuple[str, ...], str, str], ...] = (
    (
        ("search", "find", "filter", "browse"),
        "Index {thing} for search",
        "Add the indexes and query logic so results stay fast as data grows.",
    ),
    (
        ("notif", "remind", "alert"),
        "Schedule and send {thing}",
        "Deliver them as background jobs with retries, honouring user preferences.",
    ),
    (
        ("share", "invite", "friend"),
        "Handle sharing permissions for {thing}",
        "Define who can view or edit shared items and enforce it on the server.",
    ),
    (
        ("import", "export", "sync", "integrat"),
        "Integrate the external service for {thing}",
        "Wrap the third-party API with timeouts, retries and a fake for tests.",
    ),
)


@dataclass(frozen=True, slots=True)
class Brief:
    """What the interview says about the product, topic by topic."""

    idea: str
    product: str
    users: str
    problem: str
    features: tuple[str, ...]
    constraints: str
    success: str

    @property
    def persona(self) -> str:
        """Singular-ish persona for user stories: "a home cook"."""
        first = split_items(self.users)[:1]
        if not first:
            return "a user"
        head = first[0].lower().partition(" who ")[0]
        words = head.split()
        if not words or words[0] in {"everyone", "everybody", "anyone", "anybody", "all"}:
            return "a user"
        persona = " ".join([*words[:-1], singular(words[-1])])
        article = "an" if persona[:1] in "aeiou" else "a"
        return f"{article} {persona}"


def transcript_pairs(transcript: Any) -> list[tuple[str, str]]:
    """Normalise a transcript (list of {question, answer}, list of str, or str)."""
    if isinstance(transcript, str):
        return [("", transcript)] if transcript.strip() else []
    pairs: list[tuple[str, str]] = []
    for turn in transcript or []:
        if isinstance(turn, Mapping):
            question, answer = str(turn.get("question") or ""), str(turn.get("answer") or "")
        else:
            question, answer = "", str(turn)
        if answer.strip():
            pairs.append((question, answer.strip()))
    return pairs


def _topic(question: str, index: int) -> str:
    lowered = question.lower()
    for prefix, topic in _OWN_QUESTIONS:
        if lowered.startswith(prefix):
            return topic
    for topic, hints in _TOPIC_HINTS:
        if any(hint in lowered for hint in hints):
            return topic
    return TOPICS[index] if index < len(TOPICS) else "other"


def build_brief(idea: str, transcript: Any) -> Brief:
    """Condense the idea and the transcript into a `Brief`."""
    by_topic: dict[str, list[str]] = {}
    for index, (question, answer) in enumerate(transcript_pairs(transcript)):
        by_topic.setdefault(_topic(question, index), []).append(answer)
    text = {topic: " ".join(answers) for topic, answers in by_topic.items()}
    idea_text = " ".join(part for part in (idea.strip(), text.get("idea", "")) if part)
    everything = " ".join([idea_text, *text.values()])
    phrases = key_phrases(idea_text or everything)
    product = phrases[0] if phrases else "product"
    return Brief(
        idea=clean_phrase(first_sentence(idea_text), max_words=12) if idea_text else product,
        product=product,
        users=first_sentence(text.get("users", "")),
        problem=first_sentence(text.get("problem", "")),
        features=_features(text.get("features", ""), everything, product),
        constraints=first_sentence(text.get("constraints", "")),
        success=first_sentence(text.get("success", "")),
    )


def _features(listed: str, everything: str, product: str) -> tuple[str, ...]:
    features = [as_action(item) for item in split_items(listed)]
    seen = set(words(product)) | {w for f in features for w in words(f)}
    for phrase in key_phrases(everything, limit=12):
        if len(features) >= 3:
            break
        if not set(words(phrase)) <= seen:
            features.append(phrase)
            seen |= set(words(phrase))
    return tuple(features[:MAX_ITEMS])


# -- interview ---------------------------------------------------------------------


def next_question(variables: Mapping[str, Any]) -> InterviewReply:
    """The next product-discovery question; ``done`` once all topics are covered."""
    idea = str(variables.get("idea") or "")
    answered = len(transcript_pairs(variables.get("transcript")))
    brief = build_brief(idea, variables.get("transcript"))
    product = f"the {brief.product}" if answered or idea.strip() else "it"
    questions = (
        "What are you building? Describe the product and what it should do in a sentence or two.",
        f"Who are the primary users of {product}, and what are they trying to get done?",
        "What problem does it solve for them today? What is slow, painful or missing?",
        "Which features are must-haves for the first release? List them, separated by commas.",
        "Any constraints I should know about: platforms, integrations, deadlines or tech stack?",
        "How will you know the first release is a success? Name a metric or an outcome.",
    )
    if answered == 0 and idea.strip():
        return InterviewReply(
            message=f"Tell me more about {product}: what should it do, in a sentence or two?"
        )
    if answered < len(questions):
        return InterviewReply(message=questions[answered])
    features = "; ".join(brief.features[:3]) or "its core features"
    return InterviewReply(
        message=f"Thanks, that is everything I need. In short: {brief.idea}, starting with "
        f"{features}. I will draft the backlog next.",
        done=True,
    )


# -- backlog -----------------------------------------------------------------------


def draft_epic(variables: Mapping[str, Any]) -> EpicDraft:
    """An epic whose title and description come from the interview."""
    brief = build_brief(str(variables.get("idea") or ""), variables.get("transcript"))
    title = capitalize(clean_phrase(brief.idea, max_words=10))[:120]
    article = "an" if brief.idea[:1].lower() in "aeiou" else "a"
    lines = [f"Deliver the first release of {article} {brief.idea}."]
    for label, value in (
        ("Who it is for", brief.users),
        ("Problem", brief.problem),
        ("Core capabilities", "; ".join(brief.features)),
        ("Constraints", brief.constraints),
        ("Success looks like", brief.success),
    ):
        if value:
            lines.append(f"{label}: {value}")
    return EpicDraft(title=title or "First release", description="\n".join(lines))


def _benefit(feature: str, brief: Brief) -> str:
    lowered = feature.lower()
    for hints, benefit in _BENEFITS:
        if any(hint in lowered for hint in hints):
            return benefit
    return f"the {brief.product} covers it without workarounds"


def draft_stories(variables: Mapping[str, Any]) -> StoriesDraft:
    """One user story per feature the interview asked for."""
    brief = build_brief(str(variables.get("idea") or ""), variables.get("transcript"))
    features = list(brief.features)
    if brief.success and len(features) < 3:
        features.append("track the success metrics")
    if len(features) < 3:
        features.append(f"get started with the {brief.product}")
    stories = []
    for feature in features:
        want = f"to {feature}" if starts_with_verb(feature) else feature
        description = f"As {brief.persona}, I want {want} so that {_benefit(feature, brief)}."
        stories.append(StoryDraft(title=capitalize(feature)[:120], description=description))
    return StoriesDraft(stories=stories)


def _field(value: Any, key: str) -> str:
    if isinstance(value, Mapping):
        return str(value.get(key) or "")
    return str(getattr(value, key, "") or "")


def draft_tasks(variables: Mapping[str, Any]) -> TasksDraft:
    """Engineering tasks for a story: data model, API, UI, extras, tests."""
    story = variables.get("story") or {}
    title = _field(story, "title") or (str(story) if isinstance(story, str) else "the story")
    feature = as_action(clean_phrase(title, max_words=10) or title).lower()
    thing = object_of(feature)
    action = f"to {feature}" if starts_with_verb(feature) else f"for {feature}"
    epic = _field(variables.get("epic"), "title")
    context = f" (story: {capitalize(title)}" + (f"; epic: {epic})" if epic else ")")
    tasks = [
        TaskDraft(
            title=f"Design the data model for {thing}"[:120],
            description=f"Add the entities, fields, constraints and migration needed {action}."
            + context,
        ),
        TaskDraft(
            title=f"Implement the API {action}"[:120],
            description=f"Expose endpoints {action}, validate input and enforce permissions; "
            "return clear errors." + context,
        ),
        TaskDraft(
            title=f"Build the user interface {action}"[:120],
            description=f"Add the screens and components {action}, including empty, loading "
            "and error states." + context,
        ),
        *_extra_tasks(feature, thing, context),
        TaskDraft(
            title=f'Cover "{feature}" with end-to-end tests'[:120],
            description="Cover the happy path and the main failure cases with unit and "
            "integration tests; run them in CI." + context,
        ),
    ]
    return TasksDraft(tasks=tasks[:MAX_ITEMS])


def _extra_tasks(feature: str, thing: str, context: str) -> Sequence[TaskDraft]:
    lowered = feature.lower()
    for hints, title, description in _EXTRA_TASKS:
        if any(hint in lowered for hint in hints):
            return [
                TaskDraft(title=title.format(thing=thing)[:120], description=description + context)
            ]
    return []
