"""Routing decision benchmark: 1,000 agents x 20 skills, 10,000 queued chats.

Measures the routing decision itself (``switchboard.routing.engine``: queue order, skill
and level filtering, best match then longest idle), the part that runs for every chat
on every pass. Agents have 3 chat slots; as slots fill, chats that were assigned are
"finished" at random, so every decision is made against a realistic, changing pool.

Prints p50/p99/max decision time and throughput (decisions/s and assignments/s).
Options: ``--agents N --skills N --chats N --capacity N --seed N``.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time

from switchboard.routing.engine import Agent, Chat, Router


def build(
    n_agents: int, n_skills: int, n_chats: int, capacity: int, seed: int
) -> tuple[list[Agent], list[Chat]]:
    rng = random.Random(seed)
    skills = [f"skill{i:02d}" for i in range(n_skills)]
    agents = []
    for i in range(n_agents):
        have = rng.sample(skills, rng.randint(3, 8))
        agents.append(
            Agent(
                user_id=f"agent{i:05d}",
                skills={s: rng.randint(10, 100) for s in have},
                free=capacity,
                idle_since=rng.uniform(0, 1000),
            )
        )
    chats = []
    for i in range(n_chats):
        need = rng.sample(skills, rng.choice((0, 1, 1, 2, 2, 3)))
        chats.append(
            Chat(
                chat_id=f"chat{i:06d}",
                priority=rng.choice((0, 0, 0, 1, 5)),
                queued_at=float(i),
                requirements={s: rng.choice((10, 30, 50, 70)) for s in need},
            )
        )
    return agents, chats


def run(n_agents: int, n_skills: int, n_chats: int, capacity: int, seed: int) -> dict[str, float]:
    agents, chats = build(n_agents, n_skills, n_chats, capacity, seed)
    rng = random.Random(seed + 1)
    router = Router(agents)
    queue = sorted(chats, key=lambda c: (-c.priority, c.queued_at, c.chat_id))
    busy: list[int] = []  # agent indexes holding a chat
    timings: list[float] = []
    hits: list[float] = []
    assigned = 0
    clock = 2000.0
    started = time.perf_counter()
    pending = queue
    rounds = 0
    while pending and rounds < 1000:
        rounds += 1
        left = []
        for chat in pending:
            t0 = time.perf_counter_ns()
            i = router.choose(chat.requirements, chat.exclude)
            if i >= 0:
                clock += 0.001
                router.take(i, clock)
            timings.append((time.perf_counter_ns() - t0) / 1e6)
            if i >= 0:
                assigned += 1
                busy.append(i)
                hits.append(timings[-1])
            else:
                left.append(chat)
        # a third of the chats in progress end; the queue is served again (backfill)
        rng.shuffle(busy)
        for i in busy[: max(1, len(busy) // 3)]:
            router.give_back(i)
        busy = busy[max(1, len(busy) // 3) :]
        if len(left) == len(pending) and not busy:
            break
        pending = left
    elapsed = time.perf_counter() - started
    timings.sort()
    hits.sort()
    return {
        "hit_p50_ms": hits[len(hits) // 2],
        "hit_p99_ms": hits[int(len(hits) * 0.99)],
        "decisions": len(timings),
        "assigned": assigned,
        "unassignable": len(pending),
        "p50_ms": timings[len(timings) // 2],
        "p99_ms": timings[int(len(timings) * 0.99)],
        "max_ms": timings[-1],
        "mean_ms": statistics.fmean(timings),
        "elapsed_s": elapsed,
        "decisions_per_s": len(timings) / elapsed,
        "assignments_per_s": assigned / elapsed,
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--agents", type=int, default=1000)
    p.add_argument("--skills", type=int, default=20)
    p.add_argument("--chats", type=int, default=10000)
    p.add_argument("--capacity", type=int, default=3)
    p.add_argument("--seed", type=int, default=7)
    args = p.parse_args()
    r = run(args.agents, args.skills, args.chats, args.capacity, args.seed)
    print(
        f"routing decision: {args.agents} agents x {args.skills} skills, "
        f"{args.chats} queued chats, capacity {args.capacity}"
    )
    print(
        f"  decisions {r['decisions']:.0f} (assigned {r['assigned']:.0f}, "
        f"never assignable {r['unassignable']:.0f})"
    )
    print(
        f"  decision time p50 {r['p50_ms']:.4f} ms  p99 {r['p99_ms']:.4f} ms  "
        f"max {r['max_ms']:.3f} ms  mean {r['mean_ms']:.4f} ms  (target p99 < 5 ms)"
    )
    print(
        f"  decisions that assigned an agent: p50 {r['hit_p50_ms']:.4f} ms  "
        f"p99 {r['hit_p99_ms']:.4f} ms"
    )
    print(
        f"  throughput {r['decisions_per_s']:,.0f} decisions/s, "
        f"{r['assignments_per_s']:,.0f} assignments/s ({r['elapsed_s']:.2f} s total)"
    )


if __name__ == "__main__":
    main()
