"""Who can answer a young person right now, as the core counted it when the message came.

The engine stays pure: the core (bot.presence) reads the database at receive time and passes
a Presence in the Context; None means "not known" and the engine goes by the opening hours.
The core may pass a function instead, read only when the engine first needs it (a hand-over):
most messages (a FAQ, a menu choice) then cost no count at all.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

MIN_WAIT_MINUTES = 2  # "about 1 minutes" reads wrong and promises too much


@dataclass(frozen=True)
class Presence:
    on_shift: int  # listeners "in turno" now
    free: int  # conversations they can still take on now
    # for each priority: how many waiting conversations a conversation of that priority follows
    ahead: Mapping[str, int] = field(default_factory=dict)
    minutes_per_place: float | None = None  # from recent handling times; None: no estimate
    priority: str | None = None  # the conversation's own priority, if it waits already

    def position(self, priority: str) -> int:
        """The place in the queue (1 = next) of a conversation with this priority."""
        return self.ahead.get(priority, 0) + 1

    def queued(self, priority: str) -> bool:
        """Whether it must wait for a place: nobody on shift has room for it now."""
        return self.position(priority) > self.free

    def wait_minutes(self, priority: str) -> int | None:
        """About how long until a listener takes it (None: no estimate yet)."""
        if self.minutes_per_place is None:
            return None
        places = max(1, self.position(priority) - self.free)
        return max(MIN_WAIT_MINUTES, math.ceil(places * self.minutes_per_place))


Counted = Presence | Callable[[], Presence] | None  # what a Context carries


def read(counted: Counted) -> Presence | None:
    """The presence itself, counting it now if it was given as a function."""
    return counted() if callable(counted) else counted
