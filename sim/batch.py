"""The decoding sequences of a batch as NumPy arrays, so a run of k decode steps is O(1) array ops.

Each decoding sequence has ``kv`` tokens of KV, ``priv`` of them in private blocks
(the rest in pinned prefix-cache entries), ``held`` private blocks, and ``rem``
tokens still to generate.  Removing swaps the last member into the hole.
"""
from __future__ import annotations

import numpy as np

__all__ = ["DecodeSet"]


class DecodeSet:
    def __init__(self, capacity: int, block_tokens: int):
        cap = max(1, capacity)
        self.block_tokens = block_tokens
        self.kv = np.zeros(cap, np.int64)
        self.priv = np.zeros(cap, np.int64)
        self.held = np.zeros(cap, np.int64)
        self.rem = np.zeros(cap, np.int64)
        self.res = np.zeros(cap, np.int64)    # blocks reserved up front (allocation policy)
        self.seqs: list = []
        self.reserving = False                # any member with a reservation
        # NOTE: running totals and a lazy lower bound on rem, for speed (one small-array
        # numpy reduction costs more than the rest of a decode step's bookkeeping)
        self._kv_sum = 0
        self._held_sum = 0
        self._min_rem = 1 << 62
        self._stash = None

    def __len__(self) -> int:
        return len(self.seqs)

    def add(self, seq) -> None:
        i = len(self.seqs)
        if i == self.kv.size:
            for name in ("kv", "priv", "held", "rem", "res"):
                arr = getattr(self, name)
                setattr(self, name, np.concatenate([arr, np.zeros_like(arr)]))
        self.kv[i] = seq.computed
        self.priv[i] = seq.computed - seq.shared_tokens
        self.held[i] = seq.held
        self.rem[i] = seq.output_tokens - seq.generated_tokens
        self.res[i] = seq.reserved_blocks
        self._kv_sum += seq.computed
        self._held_sum += seq.held
        self._min_rem = min(self._min_rem, seq.output_tokens - seq.generated_tokens)
        if seq.reserved_blocks:
            self.reserving = True
        seq.slot = i
        self.seqs.append(seq)
        self._stash = None

    def sync(self, seq) -> None:
        """Copy a member's array state back onto its Seq object."""
        i = seq.slot
        seq.computed = int(self.kv[i])
        seq.held = int(self.held[i])
        seq.reserved_blocks = int(self.res[i])
        seq.generated_tokens = seq.output_tokens - int(self.rem[i])

    def remove(self, seq) -> None:
        self.sync(seq)
        self._kv_sum -= seq.computed
        self._held_sum -= seq.held
        i, last = seq.slot, len(self.seqs) - 1
        if i != last:
            moved = self.seqs[last]
            self.seqs[i] = moved
            moved.slot = i
            for arr in (self.kv, self.priv, self.held, self.rem, self.res):
                arr[i] = arr[last]
        self.seqs.pop()
        seq.slot = -1
        self._stash = None
        if self._min_rem <= 0:
            self._min_rem = int(self.rem[:len(self.seqs)].min()) if self.seqs else 1 << 62

    # ---- closed-form queries over the first n members ---------------------------
    def blocks_needed(self, k: int) -> int:
        """Extra private blocks all members need to take k more tokens each."""
        n = len(self.seqs)
        if n == 0 or k <= 0:
            return 0
        B = self.block_tokens
        want = (self.priv[:n] + k + B - 1) // B
        if self.reserving:
            want = np.maximum(want, self.res[:n])
        total = int(want.sum())
        self._stash = (k, n, want, total)  # NOTE: reused by advance(k) for speed
        return total - self._held_sum

    def max_steps_for_blocks(self, available: int, upper: int) -> int:
        """Largest k <= upper whose blocks_needed(k) <= available (blocks_needed is monotone)."""
        if self.blocks_needed(upper) <= available:
            return upper
        lo, hi = 0, upper  # blocks_needed(lo) fits, blocks_needed(hi) does not
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if self.blocks_needed(mid) <= available:
                lo = mid
            else:
                hi = mid
        return lo

    def advance(self, k: int) -> int:
        """Apply k decode steps to every member; returns the private blocks they took."""
        n = len(self.seqs)
        B = self.block_tokens
        stash, self._stash = self._stash, None
        self.kv[:n] += k
        self.priv[:n] += k
        self.rem[:n] -= k
        if stash is not None and stash[0] == k and stash[1] == n:
            new_held, total = stash[2], stash[3]
        else:
            new_held = (self.priv[:n] + B - 1) // B
            if self.reserving:
                new_held = np.maximum(new_held, self.res[:n])
            total = int(new_held.sum())
        taken = total - self._held_sum
        self._held_sum = total
        self.held[:n] = new_held
        self._kv_sum += n * k
        self._min_rem -= k
        return taken

    def kv_total(self) -> int:
        return self._kv_sum

    def private_tokens(self) -> int:
        """KV tokens all members hold in their own blocks."""
        return int(self.priv[:len(self.seqs)].sum())

    def min_remaining(self) -> int:
        n = len(self.seqs)
        if not n:
            return 0
        self._min_rem = int(self.rem[:n].min())
        return self._min_rem

    def finished(self) -> list:
        if self._min_rem > 0:  # a lower bound: nobody can be done yet
            return []
        n = len(self.seqs)
        idx = np.flatnonzero(self.rem[:n] <= 0)
        out = [self.seqs[i] for i in idx]
        if not out and n:
            self._min_rem = int(self.rem[:n].min())
        return out

    def steps_within_reservation(self, upper: int) -> int:
        """Largest k <= upper for which no member outgrows a nonzero reservation."""
        n = len(self.seqs)
        if not self.reserving or n == 0:
            return upper
        res = self.res[:n]
        mask = res > 0
        if not mask.any():
            return upper
        room = res[mask] * self.block_tokens - self.priv[:n][mask]
        return int(max(0, min(upper, room.min())))

    def regrow(self, policy, B: int) -> None:
        """Members whose next token would outgrow their reservation get a new one."""
        n = len(self.seqs)
        if not self.reserving or n == 0:
            return
        over = np.flatnonzero((self.res[:n] > 0) & (self.priv[:n] + 1 > self.res[:n] * B))
        for i in over:
            seq = self.seqs[i]
            need = int(self.priv[i]) + 1
            tokens = policy.regrow_tokens(need, seq.input_tokens, seq.output_tokens)
            self.res[i] = -(-max(tokens, need) // B)
            seq.regrows += 1
            self._stash = None
