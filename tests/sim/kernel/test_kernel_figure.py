"""``memsim.reports.figures_attention.attention_io_figure``: log-log lines per algorithm plus the bound."""
import pytest

from memsim.reports.figures_attention import attention_io_figure
from memsim.sim.kernel import sweep


def test_figure_has_one_line_per_algorithm_and_the_bound():
    df = sweep(512, 32, [2 ** k for k in range(7, 15)], ["flash2", "small_m", "naive"])
    fig = attention_io_figure(df)
    names = [t.name for t in fig.data]
    assert len(names) == 4 and names[-1] == "lower bound"
    assert fig.layout.xaxis.type == "log" and fig.layout.yaxis.type == "log"
    assert list(fig.data[-1].x) == sorted(set(df["m_elems"]))


def test_figure_rejects_missing_columns():
    df = sweep(64, 8, [256], ["flash2"]).drop(columns=["lower_bound"])
    with pytest.raises(ValueError, match="lower_bound"):
        attention_io_figure(df)
