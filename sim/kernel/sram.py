"""Fast memory (SRAM) of a fixed number of elements, driven by an algorithm's tile walk.

Buffers are named and sized explicitly; the total held can never exceed the
capacity (an ``AssertionError``: a walk that overflows is a bug).  Every load
(HBM -> SRAM) and store (SRAM -> HBM) is counted, and with ``record=True`` the
walk is also cut into steps -- loads, one compute, stores -- for the timing model.
"""
from __future__ import annotations

__all__ = ["Sram", "Steps"]


class Steps:
    """The recorded steps of a walk as parallel lists (one entry per step)."""

    __slots__ = ("phase", "unit", "load_elems", "flop", "store_elems", "index_bytes")

    def __init__(self):
        self.phase: list[int] = []
        self.unit: list[int] = []
        self.load_elems: list[int] = []
        self.flop: list[int] = []
        self.store_elems: list[int] = []
        self.index_bytes: list[int] = []

    def __len__(self) -> int:
        return len(self.phase)


class Sram:
    """A fast memory of ``capacity_elems`` elements implementing ``memsim.policies.attention.FastMemory``.

    >>> m = Sram(capacity_elems=8)
    >>> m.alloc("tile", 6); m.load("tile", 6); m.compute(12); m.store("tile", 4)
    >>> (m.reads, m.writes, m.peak_elems)
    (6, 4, 6)
    """

    def __init__(self, *, capacity_elems: int, record: bool = False):
        self.capacity_elems = capacity_elems
        self.reads = 0
        self.writes = 0
        self.index_bytes = 0
        self.flop = 0
        self.used_elems = 0
        self.peak_elems = 0
        self.buffers: dict[str, int] = {}
        self.steps: Steps | None = Steps() if record else None
        self._phase = -1
        self._unit = -1
        self._open = False          # a step is open and still accepts loads
        self._computed = False      # the open step has had its compute

    # -- structure ------------------------------------------------------------------
    def phase(self, name: str) -> None:
        self._phase += 1
        self._unit = -1
        self._open = False

    def unit(self) -> None:
        self._unit += 1
        self._open = False

    def _new_step(self) -> None:
        s = self.steps
        if s is not None:
            s.phase.append(self._phase)
            s.unit.append(max(self._unit, 0))
            s.load_elems.append(0)
            s.flop.append(0)
            s.store_elems.append(0)
            s.index_bytes.append(0)
        self._open, self._computed = True, False

    # -- buffers --------------------------------------------------------------------
    def alloc(self, name: str, elems: int) -> None:
        assert name not in self.buffers, f"buffer {name!r} allocated twice"
        assert elems >= 0, f"buffer {name!r}: negative size {elems}"
        self.used_elems += elems
        assert self.used_elems <= self.capacity_elems, (
            f"fast memory overflow: allocating {name!r} ({elems}) brings the total to "
            f"{self.used_elems} > capacity {self.capacity_elems}")
        self.buffers[name] = elems
        if self.used_elems > self.peak_elems:
            self.peak_elems = self.used_elems

    def free(self, name: str) -> None:
        self.used_elems -= self.buffers.pop(name)

    # -- traffic --------------------------------------------------------------------
    def load(self, name: str, elems: int) -> None:
        assert 0 < elems <= self.buffers[name], f"load of {elems} into {name!r} ({self.buffers[name]})"
        if not self._open or self._computed:
            self._new_step()
        self.reads += elems
        if self.steps is not None:
            self.steps.load_elems[-1] += elems

    def load_index(self, entries: int, entry_bytes: int) -> None:
        if not self._open or self._computed:
            self._new_step()
        self.index_bytes += entries * entry_bytes
        if self.steps is not None:
            self.steps.index_bytes[-1] += entries * entry_bytes

    def compute(self, flop: int) -> None:
        if not self._open or self._computed:
            self._new_step()
        self._computed = True
        self.flop += flop
        if self.steps is not None:
            self.steps.flop[-1] += flop

    def store(self, name: str, elems: int) -> None:
        assert 0 < elems <= self.buffers[name], f"store of {elems} from {name!r} ({self.buffers[name]})"
        if not self._open:
            self._new_step()
            self._computed = True
        self.writes += elems
        if self.steps is not None:
            self.steps.store_elems[-1] += elems
