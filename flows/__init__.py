"""Conversation flows: the pure engine, message triage and the content pack it runs on."""

from flows.engine import Context, EmergencyNumber, Step, fallback, step, timeout
from flows.pack import Pack, PackError, load_pack
from flows.state import FlowState
from flows.triage import Triage, triage

__all__ = [
    "Context",
    "EmergencyNumber",
    "FlowState",
    "Pack",
    "PackError",
    "Step",
    "Triage",
    "fallback",
    "load_pack",
    "step",
    "timeout",
    "triage",
]
