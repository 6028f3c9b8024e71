"""Stop strings on streamed text: a reply ends where one of them first appears, and the
stop string itself is never shown. Text that could still turn into a stop string is held
back until the next piece decides."""

from __future__ import annotations

from collections.abc import Sequence


class StopStrings:
    def __init__(self, stops: Sequence[str]):
        self._stops = tuple(stops)
        self._pending = ""
        self.stopped = False

    def feed(self, text: str) -> str:
        """The part of `text` (after what was held back) that is safe to show."""
        if self.stopped:
            return ""
        self._pending += text
        hits = [i for i in (self._pending.find(s) for s in self._stops) if i >= 0]
        if hits:
            self.stopped = True
            shown, self._pending = self._pending[: min(hits)], ""
            return shown
        hold = max((self._partial_match(s) for s in self._stops), default=0)
        shown = self._pending[: len(self._pending) - hold]
        self._pending = self._pending[len(shown):]
        return shown

    def flush(self) -> str:
        """What was held back, at the end of a reply that did not stop on a stop string."""
        rest, self._pending = ("" if self.stopped else self._pending), ""
        return rest

    def _partial_match(self, stop: str) -> int:
        # The longest tail of the pending text that is a proper prefix of `stop`.
        for n in range(min(len(stop) - 1, len(self._pending)), 0, -1):
            if self._pending.endswith(stop[:n]):
                return n
        return 0


__all__ = ["StopStrings"]
