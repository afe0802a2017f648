"""Who may see and do what with a conversation."""

from __future__ import annotations

from bot.conversations import Status
from bot.models import Conversation, Operator


def can_view(operator: Operator, conversation: Conversation) -> bool:
    """Coordinators see everything; listeners the queue and their own conversations."""
    if operator.role == "coordinator":
        return True
    if conversation.status == Status.WAITING:
        return True
    seen = conversation.status in (Status.LISTENER, Status.CLOSED)
    return conversation.listener_id == operator.id and seen


def holds(operator: Operator, conversation: Conversation) -> bool:
    return conversation.status == Status.LISTENER and conversation.listener_id == operator.id


def can_manage(operator: Operator, conversation: Conversation) -> bool:
    """Transfer, release, give back, close: the holder, or a coordinator."""
    if conversation.status == Status.CLOSED:
        return False
    return holds(operator, conversation) or operator.role == "coordinator"
