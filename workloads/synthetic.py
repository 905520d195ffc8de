"""Synthetic workloads: seeded arrivals, lengths, shared system prompts, multi-turn sessions.

Requests are generated in fixed-size chunks of vectorised numpy draws, so a
10M-request stream runs in bounded memory; session turns are merged in arrival
order with a heap.  Prefix-block hash ids are chained and deterministic: a
system prompt's full blocks have fixed ids, a session's blocks keep their ids as
the conversation grows, and every other block gets the next id from a counter.
"""
from __future__ import annotations

import heapq
import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from memsim.ground.errors import ConfigError

from ._dists import arrival_sampler, time_sampler, token_sampler
from ._stream import MAX_SPAN_S, span_problem
from .request import Request
from .spec import SyntheticSpec, parse_workload_spec

__all__ = ["generate", "write_mooncake_like", "STREAMS"]

STREAMS = ("arrivals", "input", "output", "prompt_choice", "prompt_use",
           "turns", "think", "tool_flag", "tool_gap")
"""One child of ``SeedSequence(seed)`` per component, spawned in this order.

Child ``i`` depends only on the seed and ``i``, so a new component appended at
the end leaves every existing stream unchanged.
"""

_CHUNK = 65536          # requests per chunk without sessions
_SESSION_CHUNK = 4096   # sessions per chunk


class _Prompts:
    """System prompts: prompt i's full blocks are ids ``i*nb .. i*nb + nb - 1``."""

    def __init__(self, spec, block_tokens: int, rng_choice, rng_use):
        self.tokens = spec.tokens if spec else 0
        self.nb = nb = self.tokens // block_tokens
        count = spec.prompts if spec else 0
        self.count = count
        self.first_free_id = count * nb
        self.spec = spec
        if spec:
            w = np.arange(1, count + 1, dtype=np.float64) ** -spec.popularity
            self.cdf = np.cumsum(w / w.sum())
        self._choice, self._use = rng_choice, rng_use

    def draw(self, n: int) -> np.ndarray:
        """Prompt index per request (or session); -1 for none."""
        if not self.spec:
            return np.full(n, -1, dtype=np.int64)
        idx = np.minimum(np.searchsorted(self.cdf, self._choice.random(n), side="right"),
                         self.count - 1)
        if self.spec.fraction < 1.0:
            idx = np.where(self._use.random(n) < self.spec.fraction, idx, -1)
        return idx.astype(np.int64)

    def block_ids(self, i: int) -> tuple[int, ...]:
        """Hash ids of prompt ``i``'s full blocks (empty for -1, no prompt)."""
        return tuple(range(i * self.nb, (i + 1) * self.nb)) if i >= 0 else ()


def generate(spec: SyntheticSpec, *, seed: int, base_dir: Path | None = None) -> Iterator[Request]:
    """Stream the requests ``spec`` describes; the same seed gives the same stream."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ConfigError(f"seed={seed!r} must be an integer >= 0", field="seed")
    rngs = dict(zip(STREAMS, (np.random.default_rng(s)
                              for s in np.random.SeedSequence(int(seed)).spawn(len(STREAMS)))))
    arrivals = arrival_sampler(spec.arrivals, rngs["arrivals"])
    new_in = token_sampler(spec.input_tokens, rngs["input"], base_dir=base_dir, field="input")
    new_out = token_sampler(spec.output_tokens, rngs["output"], base_dir=base_dir, field="output")
    prompts = _Prompts(spec.shared_prefix, spec.hash_block_tokens,
                       rngs["prompt_choice"], rngs["prompt_use"])
    if spec.sessions is None:
        stream = _single_turns(spec, arrivals, new_in, new_out, prompts)
    else:
        stream = _sessions(spec, arrivals, new_in, new_out, prompts, rngs)
    stop_n = spec.num_requests
    stop_t = spec.duration
    n = 0
    for req in stream:
        if stop_t is not None and req.arrival_s >= stop_t:
            return
        if req.arrival_s > MAX_SPAN_S:   # the spec's check bounds the mean; this, every draw
            raise ConfigError(span_problem(req.arrival_s, f"request {n}") + "; raise the rate or "
                              "ask for fewer requests", field="workload.arrivals")
        req.request_id = n
        yield req
        n += 1
        if n == stop_n:
            return


def _single_turns(spec, arrivals, new_in, new_out, prompts) -> Iterator[Request]:
    bt = spec.hash_block_tokens
    counter = prompts.first_free_id
    prompt_ids = prompts.block_ids
    while True:
        t = arrivals(_CHUNK)
        p = prompts.draw(_CHUNK)
        inp = new_in(_CHUNK) + np.where(p >= 0, prompts.tokens, 0)
        out = new_out(_CHUNK)
        blocks = -(-inp // bt)
        fresh = blocks - np.where(p >= 0, prompts.tokens // bt, 0)
        first = counter + np.cumsum(fresh) - fresh
        counter += int(fresh.sum())
        for ti, a, b, pi, f0, nf in zip(t.tolist(), inp.tolist(), out.tolist(), p.tolist(),
                                        first.tolist(), fresh.tolist()):
            ids = tuple(range(f0, f0 + nf))
            yield Request(0, ti, a, b, prompt_ids(pi) + ids if pi >= 0 else ids, bt)


def _session_chunk(spec, arrivals, new_in, new_out, prompts, rngs):
    """Plan ``_SESSION_CHUNK`` whole sessions at once; yield one plan per session."""
    ss = spec.sessions
    turns = token_sampler(ss.turns, rngs["turns"])
    think = time_sampler(ss.think_time, rngs["think"])
    tool = time_sampler(ss.tool_gap, rngs["tool_gap"]) if ss.tool_gap is not None else None
    cap = ss.max_input_tokens
    while True:
        s = _SESSION_CHUNK
        start = arrivals(s)
        p = prompts.draw(s)
        k = turns(s)
        m = int(k.sum())
        seg = np.repeat(np.arange(s), k)
        off = np.cumsum(k) - k
        u, o = new_in(m), new_out(m)
        gap = think(m)
        if ss.tool_call_fraction > 0:
            gap = np.where(rngs["tool_flag"].random(m) < ss.tool_call_fraction, tool(m), gap)
        x = u + o
        before = np.cumsum(x) - x                           # tokens of earlier turns, global
        inp = np.where(p >= 0, prompts.tokens, 0)[seg] + before - before[off][seg] + u
        g_before = np.concatenate(([0.0], np.cumsum(gap)[:-1]))  # exclusive; monotone exactly
        t = start[seg] + (g_before - g_before[off][seg])    # turn 0: exactly its start
        ok = np.ones(m, dtype=bool) if cap is None else (inp <= cap)
        ok[off] = True
        keep = np.add.reduceat(ok.astype(np.int64), off)    # a prefix of each session
        last = off + keep - 1
        gap[last] = 0.0
        t_l, in_l, out_l, gap_l = t.tolist(), inp.tolist(), o.tolist(), gap.tolist()
        for j, (a, kj, pj) in enumerate(zip(off.tolist(), keep.tolist(), p.tolist())):
            yield (t_l[a:a + kj], in_l[a:a + kj], out_l[a:a + kj], gap_l[a:a + kj], pj)


def _sessions(spec, arrivals, new_in, new_out, prompts, rngs) -> Iterator[Request]:
    bt = spec.hash_block_tokens
    plans = _session_chunk(spec, arrivals, new_in, new_out, prompts, rngs)
    counter = prompts.first_free_id
    heap: list = []
    sid = 0
    pending = next(plans)
    while True:
        if not heap or pending[0][0] < heap[0][0]:
            t_l, in_l, out_l, gap_l, pj = pending
            state = [sid, 0, t_l, in_l, out_l, gap_l, list(prompts.block_ids(pj))]
            sid += 1
            pending = next(plans)
        else:
            state = heapq.heappop(heap)[2]
        s_id, k, t_l, in_l, out_l, gap_l, ids = state
        inp = in_l[k]
        full = inp // bt
        need = full - len(ids)                 # blocks that became full since last turn
        if need > 0:
            ids.extend(range(counter, counter + need))
            counter += need
        hashes = tuple(ids)
        if inp % bt:
            hashes += (counter,)
            counter += 1
        yield Request(0, t_l[k], inp, out_l[k], hashes, bt, s_id, k, gap_l[k])
        if k + 1 < len(t_l):
            state[1] = k + 1
            heapq.heappush(heap, (t_l[k + 1], s_id, state))


def write_mooncake_like(path: str | Path, n: int, seed: int, *,
                        hash_block_tokens: int = 512) -> Path:
    """Write ``n`` Mooncake-format JSON lines (multi-turn, shared prompts) for tests.

    Lengths are smaller than the real trace's (mean prompt ~2k tokens) so files
    stay tiny; prefix reuse comes from system prompts and conversation history.
    """
    spec = parse_workload_spec({
        "kind": "synthetic", "num_requests": n,
        "arrivals": {"process": "poisson", "rate": "1 req/s"},
        "input_tokens": {"dist": "lognormal", "mean": 800, "sigma": 1.0, "max": 16000},
        "output_tokens": {"dist": "lognormal", "mean": 300, "sigma": 0.8, "max": 2000},
        "shared_prefix": {"prompts": 4, "tokens": 1000, "popularity": 1.0},
        "sessions": {"turns": {"dist": "uniform", "low": 1, "high": 5},
                     "think_time": {"dist": "exponential", "mean": "20 s"},
                     "max_input_tokens": 64000},
        "hash_block_tokens": hash_block_tokens,
    })
    path = Path(path)
    with open(path, "w", encoding="utf-8") as f:
        for r in generate(spec, seed=seed):
            f.write(json.dumps({"timestamp": int(r.arrival_s * 1000), "input_length": r.input_tokens,
                                "output_length": r.output_tokens, "hash_ids": list(r.hash_ids)},
                               separators=(", ", ": ")) + "\n")
    return path
