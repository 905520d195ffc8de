"""Session affinity: every turn of a conversation goes where its first turn went."""
from __future__ import annotations

from collections import OrderedDict

from memsim.ground.errors import check_positive

from ..registry import register
from ._common import argmin_rotating

__all__ = ["SessionAffinity"]


@register("router")
class SessionAffinity:
    """Keep a session on one replica; place new sessions (and requests without one) on the least loaded.

    Models: sticky sessions, as in llm-d's session-aware scorer and the session affinity of SGLang's router; the locality Mooncake's conversation trace rewards ("Mooncake: Trading More Storage for Less Computation -- A KVCache-centric Architecture for Serving LLM Chatbot", FAST 2025).
    Parameters:
        max_sessions: sessions remembered (least recently routed forgotten first), so
            memory stays bounded on million-request traces; default 65,536.
    Differs from the paper: the session id comes from the workload (real routers read
    a header or cookie); a session is never moved off an overloaded replica.
    """

    name = "session_affinity"

    def __init__(self, *, max_sessions: int = 65_536):
        self.max_sessions = int(check_positive("max_sessions", max_sessions))
        self._where: OrderedDict[int, int] = OrderedDict()   # session id -> position
        self._next = 0

    def __repr__(self) -> str:
        return f"SessionAffinity(max_sessions={self.max_sessions})"

    def __len__(self) -> int:
        return len(self._where)

    def route(self, request, replicas, now_s: float) -> int:
        sid = request.session_id
        if sid >= 0:
            i = self._where.get(sid)
            if i is not None and i < len(replicas):
                self._where.move_to_end(sid)
                return i
        i = argmin_rotating([r.outstanding for r in replicas], self._next)
        self._next = i + 1
        if sid >= 0:
            self._where[sid] = i
            if len(self._where) > self.max_sessions:
                self._where.popitem(last=False)
        return i
