"""Other apps react to a dossier's steps without the engine knowing them.

The enrolment app registers one hook: when a card-application dossier is approved, the
card goes to production; when it is refused, withdrawn or returned, the application
follows. Hooks run inside the step's transaction, so a hook that fails undoes the step.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

TransitionHook = Callable[..., None]
_HOOKS: list[TransitionHook] = []


def register(hook: TransitionHook) -> TransitionHook:
    """Register ``hook(*, dossier, action, actor, at)``; usable as a decorator."""
    if hook not in _HOOKS:
        _HOOKS.append(hook)
    return hook


def run(*, dossier: Any, action: str, actor: Any, at: dt.datetime) -> None:
    for hook in _HOOKS:
        hook(dossier=dossier, action=action, actor=actor, at=at)
