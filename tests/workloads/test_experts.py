"""The synthetic MoE router and the expert-trace file: statistics, determinism, bad files."""
import numpy as np
import pytest

from memsim.ground.errors import ConfigError, TraceError
from memsim.workloads.experts import popularity, read_expert_trace, synthetic_routing, write_expert_trace


def _route(seed=0, **kw):
    args = {"tokens": 3000, "layers": 6, "experts": 8, "active": 2, "skew": 0.0, "correlation": 0.0}
    args.update(kw)
    return synthetic_routing(**args, rng=np.random.default_rng(seed))


def test_shape_and_distinct_experts_per_row():
    r = _route(skew=1.2, correlation=0.6)
    assert r.shape == (3000, 6, 2) and r.dtype == np.int16
    assert r.min() >= 0 and r.max() < 8
    assert (r[:, :, 0] != r[:, :, 1]).all()


def test_skew_zero_is_uniform():
    r = _route(tokens=6000)
    freq = np.bincount(r.ravel(), minlength=8) / r.size
    # each expert 1/8; 72,000 draws -> standard error ~0.0012
    assert np.abs(freq - 1 / 8).max() < 0.006, freq
    pairs = np.bincount((r[:, 0, 0].astype(int) * 8 + r[:, 0, 1]), minlength=64).reshape(8, 8)
    pairs = pairs + pairs.T
    off = pairs[~np.eye(8, dtype=bool)] / 6000
    assert np.abs(off - 1 / 28).max() < 0.012        # every unordered pair 1/28


@pytest.mark.parametrize("correlation", [0.0, 0.7])
def test_skew_gives_zipf_popularity_per_layer(correlation):
    r = _route(tokens=8000, active=1, skew=1.0, correlation=correlation)
    want = popularity(8, 1.0, np.arange(8))
    for layer in range(6):
        freq = np.sort(np.bincount(r[:, layer, 0], minlength=8))[::-1] / 8000
        assert np.abs(freq - want).max() < 0.02, (layer, freq, want)


def test_hottest_experts_differ_between_layers():
    r = _route(tokens=4000, active=1, skew=2.0, layers=12)
    hottest = {int(np.bincount(r[:, layer, 0], minlength=8).argmax()) for layer in range(12)}
    assert len(hottest) > 1


def test_correlation_one_is_a_deterministic_successor():
    r = _route(skew=0.8, correlation=1.0)
    for layer in range(5):
        nxt = {}
        for a, b in zip(r[:, layer, :].ravel().tolist(), r[:, layer + 1, :].ravel().tolist()):
            assert nxt.setdefault(a, b) == b, (layer, a)


def test_correlation_is_the_follow_probability():
    c = 0.6
    r = _route(tokens=6000, active=1, skew=0.0, correlation=c)
    ref = _route(tokens=6000, active=1, skew=0.0, correlation=1.0)   # same seed: same successor map
    succ = {int(a): int(b) for a, b in zip(ref[:, 0, 0], ref[:, 1, 0])}
    follows = np.mean([succ[int(a)] == int(b) for a, b in zip(r[:, 0, 0], r[:, 1, 0])])
    # followed with prob c, or drawn uniformly and landing on the successor anyway: c + (1-c)/8
    assert follows == pytest.approx(c + (1 - c) / 8, abs=0.02)


def test_deterministic_by_seed():
    a, b, c = _route(7, skew=1.0, correlation=0.5), _route(7, skew=1.0, correlation=0.5), \
        _route(8, skew=1.0, correlation=0.5)
    assert np.array_equal(a, b) and not np.array_equal(a, c)


@pytest.mark.parametrize("kw,field", [({"skew": -1}, "skew"), ({"correlation": 1.5}, "correlation"),
                                      ({"active": 9}, "active"), ({"tokens": 0}, "tokens")])
def test_bad_router_parameters(kw, field):
    with pytest.raises(ConfigError, match=field):
        _route(**kw)


# ---- the trace file ------------------------------------------------------------------------
@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_trace_round_trip(tmp_path, suffix):
    r = _route(tokens=50, skew=1.0, correlation=0.5)
    path = write_expert_trace(tmp_path / f"t{suffix}", r)
    back = read_expert_trace(path, layers=6, experts=8, active=2)
    assert np.array_equal(back, r)


def _csv(tmp_path, rows, header="token,layer,expert"):
    p = tmp_path / "bad.csv"
    p.write_text("\n".join([header] + rows) + "\n")
    return p


def _good_rows():
    # 2 tokens x 2 layers x 2 active
    return ["0,0,1", "0,0,3", "0,1,0", "0,1,2", "1,0,4", "1,0,5", "1,1,6", "1,1,7"]


@pytest.mark.parametrize("edit,message", [
    (lambda rows: rows[:3] + ["0,1,9"] + rows[4:], r"line 5: expert 9 must lie in 0\.\.7"),
    (lambda rows: rows[:2] + ["0,2,0"] + rows[3:], r"line 4: layer 2 must lie in 0\.\.1"),
    (lambda rows: rows[:1] + ["0,0,1"] + rows[2:], r"line 2: token 0 layer 0 names the same expert twice"),
    (lambda rows: rows[:4] + ["2,0,4"] + rows[5:], r"line 6: token 2 layer 0: expected token 1 layer 0"),
    (lambda rows: rows[:-1], r"token 1 is incomplete: 3 of 4 rows"),
    (lambda rows: rows[:2] + ["0,x,0"] + rows[3:], r"line 4: layer .x. is not an integer"),
    (lambda rows: [], r"no rows"),
])
def test_bad_trace_rows_give_one_line(tmp_path, edit, message):
    p = _csv(tmp_path, edit(_good_rows()))
    with pytest.raises(TraceError, match=message) as e:
        read_expert_trace(p, layers=2, experts=8, active=2)
    assert "\n" not in str(e.value) and str(p) in str(e.value)


def test_good_csv_reads(tmp_path):
    r = read_expert_trace(_csv(tmp_path, _good_rows()), layers=2, experts=8, active=2)
    assert r.tolist() == [[[1, 3], [0, 2]], [[4, 5], [6, 7]]]


def test_missing_column_and_unknown_format(tmp_path):
    with pytest.raises(TraceError, match="missing column.*expert"):
        read_expert_trace(_csv(tmp_path, ["0,0"], header="token,layer"), layers=1, experts=2, active=1)
    p = tmp_path / "t.json"
    p.write_text("{}")
    with pytest.raises(TraceError, match="unknown expert-trace format"):
        read_expert_trace(p, layers=1, experts=2, active=1)
    with pytest.raises(TraceError, match="no such file"):
        read_expert_trace(tmp_path / "none.csv", layers=1, experts=2, active=1)


def test_extra_columns_are_ignored(tmp_path):
    p = tmp_path / "x.csv"
    p.write_text("request,token,layer,expert,weight\n7,0,0,1,0.6\n7,0,1,0,0.4\n")
    assert read_expert_trace(p, layers=2, experts=2, active=1).tolist() == [[[1], [0]]]
