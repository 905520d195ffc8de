"""The attention algorithms as policies: registry, parameters, tile rules, hand-worked counts."""
import inspect

import pytest

from memsim.ground.errors import ConfigError
from memsim.policies import create, describe, get, names
from memsim.policies.attention import AttentionAlgorithm, Flash1, Flash2
from memsim.sim.kernel import attention_io, simulate_tiles

ALL = ["chunked", "decode", "decode_paged", "flash1", "flash2", "naive", "small_m"]


def test_registered_names_and_cli_spellings():
    assert [n for n in names("attention") if n in ALL] == ALL
    assert get("attention", "small-m") is get("attention", "small_m")
    assert get("attention", "decode-paged") is get("attention", "decode_paged")


@pytest.mark.parametrize("name", ALL)
def test_policy_shape(name):
    cls = get("attention", name)
    obj = cls()
    assert isinstance(obj, AttentionAlgorithm)
    doc = inspect.getdoc(cls)
    assert "Models:" in doc and "Differs from the paper:" in doc and "Parameters:" in doc
    assert repr(obj).startswith(cls.__name__ + "(")
    params = inspect.signature(cls).parameters
    assert all(p.kind is p.KEYWORD_ONLY for p in params.values())


def test_describe_lists_papers():
    rows = {r["name"]: r for r in describe() if r["kind"] == "attention"}
    assert "I/O Complexity of Attention" in rows["small_m"]["paper"]
    assert "Does Not Need O(n^2) Memory" in rows["chunked"]["paper"]


def test_create_with_block_sizes_and_bad_values():
    alg = create("attention", {"name": "flash2", "block_rows": 32, "block_cols": 16})
    assert (alg.block_rows, alg.block_cols) == (32, 16)
    with pytest.raises(ConfigError, match="block_rows"):
        Flash2(block_rows=0)
    with pytest.raises(ConfigError, match="block_cols"):
        Flash1(block_cols=2.5)
    with pytest.raises(ConfigError, match="unknown attention policy"):
        create("attention", "flash3")


# Hand-worked counts for one (batch, head) pair (derivations in the comments).
HAND = [
    # FA1, n=8, d=2, Br=2, Bc=4: Tc=2.  reads: K,V 2nd=32; per outer step Q,O 2nd=32 + l,m 2n=16
    # -> 32 + 2*48 = 128.  writes: init nd+2n=32, then 32 per outer step -> 3*32 = 96.
    ("flash1", 8, 2, 2, 4, 128, 96, 0),
    # FA2, n=8, d=2, Br=4, Bc=2: Tr=2.  reads: Q nd=16 + K,V 2nd=32 per Q block -> 80.
    # writes: O nd=16 + L n=8 -> 24.
    ("flash2", 8, 2, 4, 2, 80, 24, 0),
    # naive, n=8, d=2, 4x4 tiles (W=32 >= n+2: one-pass softmax), Tr=2.
    # reads: Q 16 + K 2*16 | S 64 | P 64 + V 2*16 = 208; writes: S 64 + P 64 + O 16 = 144.
    ("naive", 8, 2, 4, 4, 208, 144, 0),
    # small-M, n=8, d=2, b=4, k=2 (O tile 4x2): t=2, td=1.
    # reads: Q,K 2*t*nd=64 | A td*n^2=64 + V t*nd=32 + l td*n=8 -> 168; writes: A 64 + l 8 + O 16 = 88.
    ("small_m", 8, 2, 4, 2, 168, 88, 0),
    # chunked, n=8, d=2, query/key chunks 4: tq=tk=2, partials tk*(nd+2n)=64.
    # reads: Q 16 + K,V tq*2nd=64 + partials 64 = 144; writes: partials 64 + O 16 = 80.
    ("chunked", 8, 2, 4, 4, 144, 80, 0),
    # decode, L=10, d=4: q 4 + K,V 2*10*4=80 -> 84 reads; o 4 writes.
    ("decode", 10, 4, None, 3, 84, 4, 0),
    # paged decode, L=10, d=4, 4-token blocks: 3 blocks read whole: q 4 + 2*3*4*4=96 -> 100;
    # page table 3 int32 entries = 12 bytes.
    ("decode_paged", 10, 4, None, 4, 100, 4, 12),
]


@pytest.mark.parametrize("algo,n,d,br,bc,reads,writes,index_bytes", HAND)
def test_hand_worked_counts(algo, n, d, br, bc, reads, writes, index_bytes):
    for fn in (attention_io, simulate_tiles):
        r = fn(algo, n=n, d=d, sram_elems=10_000, block_rows=br, block_cols=bc)
        assert (r.reads, r.writes, r.index_bytes) == (reads, writes, index_bytes), fn.__name__


def test_flash1_follows_the_paper_block_rule_then_shrinks_to_fit():
    for n, d, m in [(4096, 64, 16384), (4096, 128, 98304), (1000, 32, 3000), (512, 16, 700)]:
        alg = Flash1()
        br, bc = alg.tiles(n=n, d=d, sram_elems=m)
        assert bc <= -(-m // (4 * d))                          # never above ceil(M / 4d)
        assert br == min(bc, d)                                 # Br = min(Bc, d)
        assert alg.footprint_elems(n=n, d=d, block_rows=br, block_cols=bc) <= m
        nb = bc + 1                                             # shrunk: one more would not fit
        if nb <= -(-m // (4 * d)):
            assert alg.footprint_elems(n=n, d=d, block_rows=min(nb, d), block_cols=nb) > m


def test_flash2_swaps_the_roles():
    br, bc = Flash2().tiles(n=4096, d=64, sram_elems=65536)
    assert br > bc and bc == 64


def test_too_small_fast_memory_is_a_config_error():
    with pytest.raises(ConfigError, match="too small for flash1"):
        attention_io("flash1", n=128, d=64, sram_elems=100)
    with pytest.raises(ConfigError, match="need .* elements"):
        attention_io("flash2", n=128, d=64, sram_elems=4096, block_rows=64, block_cols=64)


def test_given_blocks_larger_than_n_are_capped():
    r = attention_io("flash2", n=10, d=4, sram_elems=10_000, block_rows=64, block_cols=64)
    assert (r.block_rows, r.block_cols) == (10, 10)


def test_an_instance_and_a_user_defined_algorithm_work():
    class NoLogsumexp(Flash2):
        """FlashAttention-2 without writing L (inference only)."""
        name = "flash2_nolse"

        def counts(self, *, n, d, block_rows, block_cols):
            reads, writes, idx = super().counts(n=n, d=d, block_rows=block_rows,
                                                block_cols=block_cols)
            return reads, writes - n, idx

        def walk(self, mem, *, n, d, block_rows, block_cols):
            inner = _DropStore(mem, "l")
            super().walk(inner, n=n, d=d, block_rows=block_rows, block_cols=block_cols)

    a = attention_io(NoLogsumexp(block_rows=8), n=64, d=8, sram_elems=4096)
    b = simulate_tiles(NoLogsumexp(block_rows=8), n=64, d=8, sram_elems=4096)
    assert a.counts() == b.counts() and a.writes == 64 * 8


class _DropStore:
    def __init__(self, mem, skip):
        self._mem, self._skip = mem, skip

    def store(self, name, elems):
        if name != self._skip:
            self._mem.store(name, elems)

    def __getattr__(self, attr):
        return getattr(self._mem, attr)
