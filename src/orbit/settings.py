"""Orbit's settings, read from ``ORBIT_*`` environment variables (and a ``.env`` file).

Built explicitly (``Settings()``) in ``main()`` or a test, then passed down; nothing reads
the environment at import time.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from orbit.jobs import WorkerConfig

if TYPE_CHECKING:  # an engine-only worker reads these settings without importing orbit.ai
    from orbit.ai import AIConfig


class LogSettings(BaseSettings):
    """The one setting needed before the command line is parsed: ``ORBIT_LOG_LEVEL``.

    Read on its own (same prefix, same ``.env``) so that a bad value elsewhere in the
    environment is reported by the command that needs it, after logging is set up.
    """

    model_config = SettingsConfigDict(
        env_prefix="ORBIT_", env_file=".env", extra="ignore", defer_build=True
    )

    log_level: str = "INFO"


class Settings(BaseSettings):
    """Every knob of Orbit; each field ``x`` is set by ``ORBIT_X``."""

    model_config = SettingsConfigDict(
        env_prefix="ORBIT_", env_file=".env", extra="ignore", defer_build=True
    )

    database_url: str = "sqlite:///.orbit/orbit.db"
    host: str = "127.0.0.1"
    port: int = 8000
    api_token: SecretStr | None = None
    max_body_bytes: int = Field(1024 * 1024, ge=1)
    migrate_on_start: bool = True
    embedded_worker: bool = True
    log_level: str = "INFO"
    # Sync routes run in a thread pool of this size (see create_app for why it is small).
    http_threads: int = Field(8, ge=1)
    # The built web pages served at /; unset means the wheel's own, else the checkout's.
    web_dir: str | None = None
    telemetry: bool = False

    concurrency: int = Field(10, ge=1)
    lease_seconds: float = Field(30.0, gt=0)
    heartbeat_seconds: float = Field(10.0, gt=0)
    cancel_poll_seconds: float = Field(0.5, gt=0)
    poll_seconds: float = Field(1.0, gt=0)
    reap_seconds: float = Field(5.0, gt=0)
    retention_seconds: float = Field(86_400.0, ge=0)
    # Finished jobs deleted per prune transaction (writers get in between batches).
    prune_batch_size: int = Field(1000, ge=1)
    shutdown_grace_seconds: float = Field(30.0, ge=0)
    sse_keepalive_seconds: float = Field(15.0, gt=0)
    # A stream token opens one stream and is checked when it connects: keep it short.
    stream_token_seconds: int = Field(60, ge=1)
    # Open event streams per process; one more is a 503 with Retry-After.
    max_streams: int = Field(1000, ge=1)
    # Project streams on PostgreSQL: the longest wait for a missing event id (LogCursor).
    sse_hole_grace_seconds: float = Field(30.0, gt=0)

    ai_provider: Literal["offline", "openai", "anthropic"] = "offline"
    ai_model: str | None = None
    ai_base_url: str | None = None
    ai_api_key: SecretStr | None = None
    ai_timeout_seconds: float = Field(60.0, gt=0)
    ai_max_retries: int = Field(2, ge=0)
    ai_structured: Literal["auto", "json_schema", "json_object", "prompt"] = "auto"
    ai_temperature: float = Field(0.7, ge=0, le=2)
    ai_structured_temperature: float = Field(0.2, ge=0, le=2)
    ai_max_output_tokens: int = Field(4096, gt=0)
    ai_retry_after_max_seconds: float = Field(120.0, ge=0)
    offline_delay_ms: int = 0
    projects_dir: str = ".orbit/projects"
    # The one request that waits on the AI (the seeds' synchronous send-message) answers
    # 504 when its whole AI call, retries included, takes longer than this.
    send_message_timeout_seconds: float = Field(60.0, gt=0)

    def ai_config(self) -> AIConfig:
        """The AI layer's share of these settings."""
        from orbit.ai import AIConfig

        return AIConfig(
            provider=self.ai_provider,
            model=self.ai_model,
            base_url=self.ai_base_url,
            api_key=self.ai_api_key.get_secret_value() if self.ai_api_key else None,
            timeout_seconds=self.ai_timeout_seconds,
            max_retries=self.ai_max_retries,
            offline_delay_ms=self.offline_delay_ms,
            structured=self.ai_structured,
            temperature=self.ai_temperature,
            structured_temperature=self.ai_structured_temperature,
            max_output_tokens=self.ai_max_output_tokens,
            retry_after_max_seconds=self.ai_retry_after_max_seconds,
        )

    def worker_config(self) -> WorkerConfig:
        """The worker's share of these settings."""
        return WorkerConfig(
            concurrency=self.concurrency,
            lease_seconds=self.lease_seconds,
            heartbeat_seconds=self.heartbeat_seconds,
            cancel_poll_seconds=self.cancel_poll_seconds,
            poll_seconds=self.poll_seconds,
            reap_seconds=self.reap_seconds,
            retention_seconds=self.retention_seconds,
            prune_batch_size=self.prune_batch_size,
            shutdown_grace_seconds=self.shutdown_grace_seconds,
        )
