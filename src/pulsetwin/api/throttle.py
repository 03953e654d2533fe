"""Login throttling: too many wrong passwords per user name or per client address within a window block
further logins for a while, doubling with each repeat (back-off).

Both keys count: a guesser of one account is stopped by the user key, a sprayer of many accounts from one
address by the address key. While blocked, a login is refused before its password is hashed, so a flood
costs the server no scrypt work. Unknown user names are counted like known ones, so the block does not tell
whether a name exists.

Notes
-----
A sliding window of failure times per key (in memory, per server process), as in OWASP's Authentication
Cheat Sheet ("account lockout" with exponential back-off). The client address is the socket's peer: behind
a reverse proxy, all clients share the proxy's address.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

LONGEST_BLOCK = 3600.0
MAX_KEYS = 10_000  # beyond this, keys without recent failures or a block are forgotten


@dataclass
class _Key:
    failures: deque[float] = field(default_factory=deque)
    blocked_until: float = 0.0
    strikes: int = 0


@dataclass(frozen=True)
class Block:
    """A block that just began: which key, for how long, after how many failures."""

    key: str
    seconds: float
    failures: int


class LoginThrottle:
    """Counts failed logins per key and blocks a key after ``limit`` failures within ``window`` seconds.

    Parameters
    ----------
    limit
        Failures allowed within ``window``; the next login of that key is refused (429).
    window
        Seconds over which failures count; also the first block's length, doubled for each repeat up to
        an hour.
    clock
        Monotonic seconds (injectable for tests).
    """

    def __init__(self, limit: int, window: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self.window = window
        self._clock = clock
        self._keys: dict[str, _Key] = {}
        self._lock = threading.Lock()

    def retry_after(self, keys: Iterable[str]) -> float:
        """Seconds until every one of ``keys`` may log in again (0 when none is blocked)."""
        now = self._clock()
        with self._lock:
            waits = [self._keys[k].blocked_until - now for k in keys if k in self._keys]
        return max([0.0, *waits])

    def failed(self, keys: Iterable[str]) -> list[Block]:
        """Count one failure for each key; return the blocks this failure started."""
        now = self._clock()
        blocks: list[Block] = []
        with self._lock:
            if len(self._keys) > MAX_KEYS:
                self._forget(now)
            for key in keys:
                state = self._keys.setdefault(key, _Key())
                state.failures.append(now)
                while state.failures and state.failures[0] <= now - self.window:
                    state.failures.popleft()
                if len(state.failures) >= self.limit and state.blocked_until <= now:
                    seconds = min(self.window * 2.0**state.strikes, LONGEST_BLOCK)
                    state.blocked_until, state.strikes = now + seconds, state.strikes + 1
                    blocks.append(Block(key, seconds, len(state.failures)))
                    state.failures.clear()
        return blocks

    def succeeded(self, user_key: str) -> None:
        """A correct password clears the failures of the user (not of the address)."""
        with self._lock:
            self._keys.pop(user_key, None)

    def _forget(self, now: float) -> None:
        """Drop keys with neither a failure within the window nor a block (caller holds the lock)."""
        stale = [
            k
            for k, s in self._keys.items()
            if s.blocked_until <= now and (not s.failures or s.failures[-1] <= now - self.window)
        ]
        for key in stale:
            del self._keys[key]
