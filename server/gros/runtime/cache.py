"""Complete answers kept per revision, bounded in bytes.

A revision never changes, so an answer made from it stays right for as long as it is the
current one: the key is the revision plus what selects the answer (the query text with its
white space normalised, the format asked for, the dataset, the parameters, see
jobs.QueryJob.key), and the whole cache is dropped as soon as a process sees a new revision
(a write). Entries are evicted least recently used first once `max_bytes` is reached; an answer
bigger than an eighth of the cache is never kept (it is streamed, as before).
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass


@dataclass(frozen=True)
class Answer:
    media_type: str
    body: bytes
    truncated: bool


class ResponseCache:
    def __init__(self, max_bytes: int):
        self.max_bytes = max_bytes
        self.entry_max = max_bytes // 8
        self.entries: OrderedDict[tuple, Answer] = OrderedDict()
        self.size = 0
        self.revision: int | None = None
        self.lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return self.max_bytes > 0

    def get(self, revision: int, key: tuple) -> Answer | None:
        with self.lock:
            if revision != self.revision:
                return None
            found = self.entries.get(key)
            if found is not None:
                self.entries.move_to_end(key)
            return found

    def put(self, revision: int, key: tuple, answer: Answer) -> None:
        cost = len(answer.body) + 256
        if not self.enabled or cost > self.entry_max:
            return
        with self.lock:
            if self.revision is None or revision > self.revision:
                self._clear()
                self.revision = revision
            elif revision != self.revision:
                return  # made from an older revision than the one now kept
            old = self.entries.pop(key, None)
            if old is not None:
                self.size -= len(old.body) + 256
            self.entries[key] = answer
            self.size += cost
            while self.size > self.max_bytes:
                _, dropped = self.entries.popitem(last=False)
                self.size -= len(dropped.body) + 256

    def drop(self, revision: int) -> None:
        """A new revision is current: every kept answer is of an older one."""
        with self.lock:
            if self.revision != revision:
                self._clear()
                self.revision = revision

    def _clear(self) -> None:
        self.entries.clear()
        self.size = 0
