"""Describing a failure for the log without its message: mail headers, bodies and SQL parameters
(addresses, what a young person wrote) must never reach the log."""

from __future__ import annotations

import traceback

FRAMES = 4


def describe(exc: BaseException) -> str:
    """The exception's type and where it was raised (the last frames), never its text."""
    frames = traceback.extract_tb(exc.__traceback__)[-FRAMES:]
    where = " <- ".join(
        f"{f.filename.rsplit('/', 1)[-1]}:{f.lineno} {f.name}" for f in reversed(frames)
    )
    cause = exc.__cause__ or exc.__context__
    inner = f" (from {type(cause).__name__})" if cause is not None else ""
    return f"{type(exc).__name__}{inner} at {where or '?'}"
