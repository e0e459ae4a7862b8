"""SQLite's ``NOTIFY``: processes using one database file wake each other after commits.

SQLite has no way to tell another process that it committed; ``PRAGMA data_version``
only answers when asked, so a watcher must poll (every ``POLL_SECONDS`` in
``sqlite.py``) and a worker in another process hears of a new job 2.5 ms later on
average. Here every process that watches the file binds a datagram socket in a
directory of its own user, named after the file (``/tmp/orbit-<uid>/<hash of the
file's path>/``). After a commit a process sends one empty datagram to every other
socket there, and the watcher that receives it checks ``data_version`` at once.

It is a hint, like PostgreSQL's ``NOTIFY``: the tables stay the truth and the poll goes
on, so a lost datagram, a full socket buffer or a writer that does not announce (another
program, another path to the same file, a process with another temporary directory such
as a separate container sharing the file) only costs the poll's delay. A socket
left by a process that died is removed by the next sender it refuses. Where Unix
datagram sockets are missing (Windows), or the directory cannot be made safely, nothing
is announced and the poll alone is used.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import socket
import tempfile
import uuid
from pathlib import Path

log = logging.getLogger("orbit.jobs.sqlite")

_SUFFIX = ".sock"


def wakeup_directory(database: str) -> Path | None:
    """Where ``database``'s wake-up sockets are (``None``: no Unix sockets here). Only a
    listener makes it (``Listener``); a store that only announces never leaves one."""
    if not hasattr(socket, "AF_UNIX") or not hasattr(os, "getuid"):
        return None
    key = hashlib.sha256(os.path.realpath(database).encode()).hexdigest()[:24]
    return Path(tempfile.gettempdir()) / f"orbit-{os.getuid()}" / key


def make_private(directory: Path) -> bool:
    """Make ``directory`` (and its parent) for this user alone; False if that is not safe."""
    root = directory.parent
    try:
        root.mkdir(mode=0o700, exist_ok=True)
        info = root.stat()
        if info.st_uid != os.getuid() or info.st_mode & 0o077:
            log.warning("not using %s for wake-ups: not private to this user", root)
            return False
        directory.mkdir(mode=0o700, exist_ok=True)
    except OSError as exc:
        log.warning("no wake-up directory %s (%s); polling only", directory, exc)
        return False
    return True


class Announcer:
    """Sends the wake-ups of one process's commits (any thread)."""

    def __init__(self, directory: Path | None) -> None:
        self.directory = directory
        self.own: str | None = None  # the name of this store's own listening socket
        self._sender: socket.socket | None = None

    def announce(self) -> None:
        """Wake every other watcher of the file; never raises, never blocks."""
        if self.directory is None:
            return
        for name in self._peers():
            if name == self.own:
                continue
            path = os.path.join(self.directory, name)
            try:
                self._socket().sendto(b"", path)
            except (BlockingIOError, InterruptedError):
                pass  # its buffer is full: a wake-up is already waiting there
            except (ConnectionRefusedError, FileNotFoundError):
                with contextlib.suppress(OSError):  # nobody listens: a dead process's
                    os.unlink(path)
                with contextlib.suppress(OSError):  # and it may have been the last one
                    os.rmdir(self.directory)
            except OSError as exc:
                log.debug("wake-up to %s not sent: %s", path, exc)

    def _peers(self) -> list[str]:
        assert self.directory is not None
        try:  # listing a directory of a few sockets costs a few microseconds
            return [n for n in os.listdir(self.directory) if n.endswith(_SUFFIX)]
        except OSError:
            return []

    def _socket(self) -> socket.socket:
        if self._sender is None:
            sender = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            sender.setblocking(False)
            self._sender = sender
        return self._sender

    def close(self) -> None:
        if self._sender is not None:
            self._sender.close()
            self._sender = None


class Listener:
    """This store's socket in the directory, bound while its watcher runs."""

    def __init__(self, directory: Path) -> None:
        """Raises ``OSError`` when the socket cannot be bound (the caller polls only)."""
        if not make_private(directory):
            raise PermissionError(f"{directory} is not private to this user")
        self.name = f"{os.getpid()}-{uuid.uuid4().hex[:12]}{_SUFFIX}"
        self.path = directory / self.name
        self.socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.socket.setblocking(False)
        try:
            self.socket.bind(str(self.path))
        except FileNotFoundError:  # the last watcher before us just removed the directory
            directory.mkdir(mode=0o700, exist_ok=True)
            self.socket.bind(str(self.path))
        except OSError:
            self.socket.close()
            raise

    def drain(self) -> None:
        """Read every wake-up waiting (they carry nothing but their arrival)."""
        with contextlib.suppress(BlockingIOError, InterruptedError):
            while True:
                self.socket.recv(16)

    def close(self) -> None:
        self.socket.close()
        with contextlib.suppress(OSError):
            self.path.unlink()
        with contextlib.suppress(OSError):  # the last watcher of the file tidies up
            self.path.parent.rmdir()
