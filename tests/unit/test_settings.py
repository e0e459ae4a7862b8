"""Every setting goes through pydantic-settings: ``.env`` and ``ORBIT_*`` alike, read when
``Settings()`` (or ``LogSettings()``) is built, never at import."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from orbit.api.web import CHECKOUT_WEB_DIR, web_dir
from orbit.cli.main import configure_logging
from orbit.settings import Settings


@pytest.fixture
def in_dir_with_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A working directory holding a ``.env``, with no ``ORBIT_*`` in the environment."""
    for name in ("ORBIT_LOG_LEVEL", "ORBIT_HTTP_THREADS", "ORBIT_WEB_DIR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    yield tmp_path


@pytest.fixture
def root_logger() -> Iterator[logging.Logger]:
    """The root logger, restored afterwards."""
    root = logging.getLogger()
    saved = (root.level, root.handlers[:])
    yield root
    root.setLevel(saved[0])
    root.handlers[:] = saved[1]


def configure_afresh(root: logging.Logger) -> None:
    # basicConfig does nothing while the root logger has handlers (pytest adds its own).
    root.handlers.clear()
    configure_logging()


def test_log_level_from_dotenv_is_honoured(
    in_dir_with_env: Path, root_logger: logging.Logger
) -> None:
    (in_dir_with_env / ".env").write_text("ORBIT_LOG_LEVEL=debug\n")
    configure_afresh(root_logger)
    assert root_logger.level == logging.DEBUG


def test_environment_wins_over_dotenv(
    in_dir_with_env: Path, root_logger: logging.Logger, monkeypatch: pytest.MonkeyPatch
) -> None:
    (in_dir_with_env / ".env").write_text("ORBIT_LOG_LEVEL=DEBUG\n")
    monkeypatch.setenv("ORBIT_LOG_LEVEL", "ERROR")
    configure_afresh(root_logger)
    assert root_logger.level == logging.ERROR


def test_http_threads_and_web_dir_come_from_settings(
    in_dir_with_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (in_dir_with_env / ".env").write_text(
        f"ORBIT_HTTP_THREADS=3\nORBIT_WEB_DIR={in_dir_with_env}\n"
    )
    settings = Settings()
    assert settings.http_threads == 3
    assert web_dir(settings) == in_dir_with_env.resolve()
    monkeypatch.setenv("ORBIT_HTTP_THREADS", "0")
    with pytest.raises(ValueError, match="http_threads"):
        Settings()


def test_without_web_dir_the_checkout_pages_are_used(in_dir_with_env: Path) -> None:
    # An editable install has no packaged copy, so the checkout's web/dist is the answer.
    assert web_dir(Settings(_env_file=None)) == CHECKOUT_WEB_DIR  # type: ignore[call-arg]
