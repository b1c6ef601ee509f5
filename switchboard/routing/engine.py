"""The routing decision, in memory and free of I/O (so it can be measured alone).

Rule (documented in docs/routing.md):

- The queue is served in order of priority (higher first), then waiting time (longest
  first). A chat that nobody can take does not block the chats behind it.
- A candidate agent is logged in, ready (or busy below capacity), has a free slot for the
  media, has every required skill at or above its minimum level, and has not rejected or
  missed this chat recently.
- Among candidates: the best skill match (the highest sum of the agent's levels in the
  required skills), then the longest idle (the oldest ``idle_since``), then the user id.
- After waiting, a chat's requirements relax by its service's ``relaxation`` steps.

Candidates are indexed per requirement signature (the same service and skills share one
sorted candidate list), so a decision touches only agents who qualify.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Agent:
    user_id: str
    skills: Mapping[str, int]
    free: int
    idle_since: float


@dataclass
class Chat:
    chat_id: str
    priority: int
    queued_at: float
    requirements: Mapping[str, int]
    exclude: frozenset[str] = field(default_factory=frozenset)


def relaxed(
    requirements: Mapping[str, int], relaxation: Sequence[Mapping[str, Any]], waited: float
) -> dict[str, int]:
    """Apply the last relaxation step whose ``after_seconds`` has passed.

    A step is ``{"after_seconds": 60, "reduce_by": 20}`` (every minimum level drops by
    20, not below 0), ``{"after_seconds": 120, "drop": ["Spanish"]}`` (those skills are no
    longer required) or ``{"after_seconds": 300, "drop_all": true}`` (any agent)."""
    out = dict(requirements)
    steps = sorted(
        (st for st in relaxation if _num(st.get("after_seconds")) <= waited),
        key=lambda st: _num(st.get("after_seconds")),
    )
    if not steps:
        return out
    step = steps[-1]
    if step.get("drop_all"):
        return {}
    reduce_by = int(_num(step.get("reduce_by", 0)))
    if reduce_by:
        out = {k: max(0, v - reduce_by) for k, v in out.items()}
    for name in step.get("drop") or ():
        out.pop(str(name), None)
    return out


def _num(v: Any) -> float:
    try:
        return float(v)
    except (TypeError, ValueError):
        return float("inf")


Signature = tuple[tuple[str, int], ...]


class Router:
    """Holds the agents of one tenant and media; ``choose`` is one routing decision."""

    def __init__(self, agents: Iterable[Agent]) -> None:
        self.agents: list[Agent] = list(agents)
        self._by_skill: dict[str, list[int]] = {}
        for i, a in enumerate(self.agents):
            for name in a.skills:
                self._by_skill.setdefault(name, []).append(i)
        # signature -> candidates grouped by score, best first: [(score, [agent idx])]
        self._groups: dict[Signature, list[tuple[int, list[int]]]] = {}
        # signatures known to have no free candidate since the last release
        self._dry: set[Signature] = set()
        self.free_total = sum(max(0, a.free) for a in self.agents)

    def _candidates(self, sig: Signature) -> list[tuple[int, list[int]]]:
        groups = self._groups.get(sig)
        if groups is not None:
            return groups
        if sig:
            # start from the rarest required skill
            pools = [self._by_skill.get(name, []) for name, _ in sig]
            pool = min(pools, key=len)
        else:
            pool = list(range(len(self.agents)))
        scored: dict[int, list[int]] = {}
        for i in pool:
            skills = self.agents[i].skills
            score = 0
            for name, minimum in sig:
                level = skills.get(name)
                if level is None or level < minimum:
                    break
                score += level
            else:
                scored.setdefault(score, []).append(i)
        groups = sorted(scored.items(), key=lambda kv: -kv[0])
        self._groups[sig] = groups
        return groups

    def choose(self, requirements: Mapping[str, int], exclude: frozenset[str] = frozenset()) -> int:
        """Index of the agent to offer to, or -1."""
        if self.free_total <= 0:
            return -1
        sig: Signature = tuple(sorted(requirements.items()))
        if not exclude and sig in self._dry:
            return -1
        agents = self.agents
        for _score, members in self._candidates(sig):
            best = -1
            best_idle = 0.0
            for i in members:
                a = agents[i]
                if a.free <= 0 or (exclude and a.user_id in exclude):
                    continue
                if (
                    best < 0
                    or a.idle_since < best_idle
                    or (a.idle_since == best_idle and a.user_id < agents[best].user_id)
                ):
                    best, best_idle = i, a.idle_since
            if best >= 0:
                return best
        if not exclude:
            self._dry.add(sig)
        return -1

    def take(self, index: int, now: float) -> None:
        a = self.agents[index]
        a.free -= 1
        a.idle_since = now
        self.free_total -= 1

    def give_back(self, index: int) -> None:
        self.agents[index].free += 1
        self.free_total += 1
        self._dry.clear()

    def plan(self, chats: Iterable[Chat], now: float) -> list[tuple[str, str]]:
        """Assign chats in queue order; returns (chat_id, user_id) pairs."""
        ordered = sorted(chats, key=lambda c: (-c.priority, c.queued_at, c.chat_id))
        out: list[tuple[str, str]] = []
        for chat in ordered:
            if self.free_total <= 0:
                break
            i = self.choose(chat.requirements, chat.exclude)
            if i >= 0:
                self.take(i, now)
                out.append((chat.chat_id, self.agents[i].user_id))
        return out
