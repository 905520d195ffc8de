"""H2O: accumulated attention decides the victim; the recent half is protected."""
import numpy as np

from memsim.policies import create


def test_heavy_hitters_survive_and_recent_half_is_protected(drive):
    prefill = np.array([[[0.02, 0.5, 0.02, 0.1, 0.02, 0.02, 0.02, 0.3]]])
    pol = drive.start(create("compression", {"name": "h2o", "recent_fraction": 0.5}), prefill, budget=4)
    # budget 4: recent 2 (6, 7) protected, heavy hitters 1 and 3 kept
    assert drive.kept(pol.plan(0, 8)) == [1, 3, 6, 7]
    pol.observe(0, drive.row(8, {6: 0.9}))         # token 6 becomes a heavy hitter
    # new token 8: recent = (7, 8); among {1, 3, 6} the smallest accumulation (3) goes
    assert drive.kept(pol.plan(1, 9)) == [1, 6, 7, 8]
    pol.check()


def test_recall_beats_streaming_on_a_persistent_heavy_hitter(drive):
    from memsim.sim.compress import simulate
    from memsim.workloads import load_model
    from memsim.workloads.attention_scores import AttentionScores
    P, T = 32, 20
    probs = np.zeros((T, 1, 1, P + T), dtype=np.float32)
    for t in range(T):
        row = np.full(P + t, 0.2 / (P + t - 1))
        row[5] = 0.8                               # one old token carries most attention
        probs[t, 0, 0, :P + t] = row / row.sum()
    src = AttentionScores(probs=probs, prompt_tokens=P, prefill=probs[0, :, :, :P].copy())
    m = load_model("llama-3.1-8b")
    h2o = simulate("h2o", src, budget_tokens=4, model=m).summary()["recall"]
    stream = simulate({"name": "streaming_llm", "sink_tokens": 0}, src, budget_tokens=4, model=m)
    assert h2o > 0.8 > stream.summary()["recall"]
