"""Orbit's LLM provider layer.

Build a provider with `create_provider(AIConfig(...))`, render a named prompt
with `render_prompt`, then call `complete`, `stream` or `structured`::

    provider = create_provider(AIConfig(provider="offline"))
    prompt = render_prompt("backlog.epic", idea=idea, transcript=transcript)
    epic = await provider.structured(prompt, EpicDraft)

Providers: ``offline`` (deterministic, no network), ``openai`` (OpenAI and
compatible servers) and ``anthropic``.  Errors derive from `AIError`; see
``docs/ai.md`` for structured-output modes, budgets, deadlines and servers.
"""

from orbit.ai.base import (
    BaseProvider,
    CallOptions,
    CallRecord,
    CallRecorder,
    Completion,
    Provider,
    StructuredMode,
    TextStream,
)
from orbit.ai.config import AIConfig, ProviderName, StructuredSetting
from orbit.ai.errors import (
    AIAPIError,
    AIConfigError,
    AIError,
    AIInvalidOutput,
    AIModeRejected,
    AIOutputTruncated,
    AIPromptError,
    AIRequestRejected,
    AITimeout,
    AIUnavailable,
)
from orbit.ai.factory import create_provider
from orbit.ai.offline import OfflineProvider
from orbit.ai.prompts import PROMPT_SCHEMAS, Message, Prompt, render_prompt
from orbit.ai.retry import RetryPolicy
from orbit.ai.schemas import (
    ActivationDetails,
    CommitMessage,
    EpicDraft,
    ExecutionResult,
    InterviewReply,
    StoriesDraft,
    StoryDraft,
    TaskDraft,
    TaskOutput,
    TasksDraft,
)

__all__ = [
    "PROMPT_SCHEMAS",
    "AIAPIError",
    "AIConfig",
    "AIConfigError",
    "AIError",
    "AIInvalidOutput",
    "AIModeRejected",
    "AIOutputTruncated",
    "AIPromptError",
    "AIRequestRejected",
    "AITimeout",
    "AIUnavailable",
    "ActivationDetails",
    "BaseProvider",
    "CallOptions",
    "CallRecord",
    "CallRecorder",
    "CommitMessage",
    "Completion",
    "EpicDraft",
    "ExecutionResult",
    "InterviewReply",
    "Message",
    "OfflineProvider",
    "Prompt",
    "Provider",
    "ProviderName",
    "RetryPolicy",
    "StoriesDraft",
    "StoryDraft",
    "StructuredMode",
    "StructuredSetting",
    "TaskDraft",
    "TaskOutput",
    "TasksDraft",
    "TextStream",
    "create_provider",
    "render_prompt",
]
