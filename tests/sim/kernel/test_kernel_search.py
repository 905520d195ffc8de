"""``--algo auto``: least I/O without a machine, least predicted time with one."""
from memsim.sim.kernel import Machine, attention_io, auto, predict_time
from memsim.sim.kernel.search import candidates


def test_auto_without_machine_takes_the_least_io():
    kw = dict(n=512, d=32, sram_elems=4096)
    best, t = auto(**kw)
    assert t is None
    cands = candidates(**kw)
    assert best.io_bytes == min(c.io_bytes for c in cands)
    for algo in ("naive", "flash1", "flash2", "small_m", "chunked"):
        assert best.io <= attention_io(algo, **kw).io


def test_auto_with_machine_is_no_slower_than_the_defaults():
    kw = dict(n=256, d=32, sram_elems=4096, heads=4)
    mach = Machine(hbm_bw=2e11, flops=1e12, sm_count=4)
    best, t = auto(**kw, machine=mach)
    assert t == predict_time(best, hbm_bw=2e11, flops=1e12, sm_count=4)
    for algo in ("flash1", "flash2", "naive"):
        assert t <= predict_time(attention_io(algo, **kw), hbm_bw=2e11, flops=1e12, sm_count=4)


def test_small_memory_prefers_the_small_m_algorithm():
    best, _ = auto(n=512, d=64, sram_elems=512)
    assert best.algo == "small_m"
