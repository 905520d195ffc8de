"""Every output table of a serving run, declared once: per column its name, unit, dtype and meaning.

The engine records through these declarations (``sim/records.py`` buffers, the derive
step below, the sample builder), ``memsim schema results`` prints them, and the table
reference in ``docs/engine.md`` is generated from them (a test keeps it current).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa

from .sampling import MAX_SAMPLES

__all__ = ["Column", "Table", "UNITS", "UNITLESS", "REQUESTS", "ITERATIONS", "TIERS", "LINKS", "OUTPUT",
           "derive_requests", "markdown"]

#: A column's unit is read from its name's suffix; each suffix means one unit.
UNITS = {
    "_s": "seconds (simulated; a time is measured from the start of the run)",
    "_bytes": "bytes",
    "_tokens": "tokens",
    "_blocks": "prefix-cache blocks (the workload's hash blocks, grouped to span whole KV blocks)",
}
#: Columns without a unit suffix say what they are instead.
UNITLESS = {
    "id": "an identifier",
    "count": "a number of sequences, steps, requests or events",
    "fraction": "a ratio in [0, 1]",
    "label": "a name or category",
}

INT, FLOAT, STR = pa.int64(), pa.float64(), pa.large_string()  # large_string: what pandas writes for str
_NUMPY = {INT: np.int64, FLOAT: np.float64}


def _suffix(name: str) -> str | None:
    for suf in UNITS:
        if name.endswith(suf) or name == suf[1:]:
            return suf
    return None


@dataclass(frozen=True)
class Column:
    """One column.  ``kind`` names a UNITLESS kind when the name carries no unit suffix;
    ``derived`` columns are computed from the recorded ones (``derive_requests``);
    ``per`` marks a template (``tokens_{tier}``) expanded once per lower tier;
    ``cluster`` columns exist only in the tables of a cluster run (``cluster:``)."""
    name: str
    dtype: pa.DataType
    description: str
    kind: str | None = None
    derived: bool = False
    per: str | None = None
    cluster: bool = False

    def __post_init__(self):
        suf = _suffix(self.name) if self.per is None else None
        if suf is not None and self.kind is not None:
            raise ValueError(f"{self.name}: the suffix {suf} already gives the unit")
        if suf is None and self.kind not in UNITLESS and self.kind not in UNITS:
            raise ValueError(f"{self.name}: no unit suffix; say which of {sorted(UNITLESS)} it is")

    @property
    def unit(self) -> str:
        """The suffix (``_s``), or for a column without one its kind (``count``)."""
        return _suffix(self.name) if self.kind is None else self.kind

    @property
    def shown_name(self) -> str:
        """The name as documentation writes it (``tokens_<tier>``)."""
        return self.name.replace("{", "<").replace("}", ">")

    @property
    def shown_description(self) -> str:
        return self.description.replace("{", "<").replace("}", ">")

    @property
    def type_name(self) -> str:
        """int64 | float64 | string, as a user reads it."""
        return {INT: "int64", FLOAT: "float64"}.get(self.dtype, "string")

    def expand(self, tiers: tuple[str, ...]) -> list[tuple[str, str]]:
        """(name, description) of the real columns: one, or one per lower tier for a template."""
        if self.per is None:
            return [(self.name, self.description)]
        return [(self.name.format(**{self.per: t}), self.description.format(**{self.per: t})) for t in tiers]


@dataclass(frozen=True)
class Table:
    name: str
    description: str
    columns: tuple[Column, ...]

    def present(self, cluster: bool = False) -> tuple[Column, ...]:
        """The columns of a one-replica run, or (``cluster``) of a cluster run."""
        return self.columns if cluster else tuple(c for c in self.columns if not c.cluster)

    def names(self, tiers: tuple[str, ...] = (), *, cluster: bool = False) -> list[str]:
        return [n for c in self.present(cluster) for n, _ in c.expand(tiers)]

    def recorded(self, tiers: tuple[str, ...] = (), *, cluster: bool = False) -> list[str]:
        """Columns the engine records (the rest are derived), in table order."""
        return [n for c in self.present(cluster) if not c.derived for n, _ in c.expand(tiers)]

    def schema(self, tiers: tuple[str, ...] = (), *, cluster: bool = False) -> pa.Schema:
        return pa.schema([pa.field(n, c.dtype) for c in self.present(cluster) for n, _ in c.expand(tiers)])

    def empty(self, tiers: tuple[str, ...] = (), *, cluster: bool = False) -> pd.DataFrame:
        return self.conform(pd.DataFrame({n: [] for n in self.names(tiers, cluster=cluster)}), tiers,
                            cluster=cluster)

    def conform(self, df: pd.DataFrame, tiers: tuple[str, ...] = (), *, cluster: bool = False) -> pd.DataFrame:
        """``df`` with exactly the declared columns, in order, with the declared dtypes.

        An integer column with a missing value (an unlimited tier's ``capacity_bytes``)
        becomes pandas' nullable Int64: still int64, with nulls, in Parquet."""
        names = self.names(tiers, cluster=cluster)
        if set(df.columns) != set(names):
            missing, extra = set(names) - set(df.columns), set(df.columns) - set(names)
            raise AssertionError(f"{self.name}: columns differ from the declaration "
                                 f"(missing {sorted(missing)}, undeclared {sorted(extra)})")
        out = {}
        for c in self.present(cluster):
            for n, _ in c.expand(tiers):
                out[n] = _cast(df[n], c.dtype)
        return pd.DataFrame(out)


def _cast(s: pd.Series, dtype: pa.DataType) -> pd.Series:
    if dtype == STR:
        return s.astype(str)
    want = _NUMPY[dtype]
    if s.dtype == want:
        return s
    if want is np.int64 and s.dtype.kind == "f" and not np.isfinite(s.to_numpy()).all():
        return s.where(np.isfinite(s.to_numpy()), None).astype("Int64")
    return s.astype(want)


def _c(name, dtype, description, kind=None, **kw) -> Column:
    return Column(name, dtype, description, kind, **kw)


REQUESTS = Table("requests", "one row per request, in request_id order (a run large enough to spill "
                 "to disk keeps completion order)", (
    _c("request_id", INT, "the request's id in the workload", "id"),
    _c("arrival_s", FLOAT, "arrival time"),
    _c("input_tokens", INT, "prompt length"),
    _c("output_tokens", INT, "tokens to generate"),
    _c("generated_tokens", INT, "tokens actually generated (== output_tokens when completed)"),
    _c("prefix_hit_tokens", INT, "prompt tokens found in the HBM prefix cache at its (last) admission"),
    _c("prefix_hit_blocks", INT, "prefix-cache blocks found cached in HBM at its first admission"),
    _c("prefix_blocks", INT, "prefix-cache blocks the request looked up"),
    _c("scheduled_s", FLOAT, "first time the request entered a batch (NaN if never)"),
    _c("first_token_s", FLOAT, "time its first output token was produced (NaN if never)"),
    _c("finish_s", FLOAT, "time its last token was produced (NaN if unfinished)"),
    _c("queue_s", FLOAT, "scheduled_s - arrival_s", derived=True),
    _c("load_s", FLOAT, "from admission until its lower-tier KV arrived (0 without loads)"),
    _c("prefill_s", FLOAT, "from the end of its load (or its admission) to its first token"),
    _c("ttft_s", FLOAT, "first_token_s - arrival_s", derived=True),
    _c("tpot_s", FLOAT, "(finish_s - first_token_s) / (generated_tokens - 1); NaN for one token",
       derived=True),
    _c("e2e_s", FLOAT, "finish_s - arrival_s", derived=True),
    _c("preemptions", INT, "times the request was preempted (its KV dropped, to be recomputed)", "count"),
    _c("found_blocks", INT, "consecutive prefix-cache blocks cached in any tier at its first admission"),
    _c("loaded_tokens", INT, "prompt tokens loaded from lower tiers"),
    # the unit is the template's first word: renaming it would change every tiered run's table
    _c("tokens_{tier}", INT, "prompt tokens loaded from the {tier} tier", "_tokens", per="tier"),
    _c("recomputed_tokens", INT, "prompt tokens computed: input_tokens - prefix_hit_tokens - loaded_tokens",
       derived=True),
    _c("regrows", INT, "times it outgrew its KV reservation (kv.allocation) and the reservation grew",
       "count"),
    _c("status", STR, "completed | rejected | unfinished", "label"),
    _c("reason", STR, "why the request was rejected, else empty", "label"),
    _c("attention_recall", FLOAT, "attention mass the kept KV covers (kv.compression; 1.0 for the full "
       "cache)", "fraction", derived=True),
    _c("replica", INT, "the replica the arrival router sent it to (its prefill replica under "
       "disaggregation)", "id", cluster=True),
    _c("decode_replica", INT, "the decode replica its KV moved to (-1: none; mixed replicas)", "id", cluster=True),
    _c("kv_transfer_bytes", FLOAT, "KV bytes sent from its prefill to its decode replica: the prompt "
       "tokens the decode replica did not already cache", cluster=True),
    _c("kv_transfer_s", FLOAT, "from the start of its KV transfer until the last byte arrived (NaN: "
       "none)", cluster=True),
    _c("kv_held_s", FLOAT, "time its KV waited on the prefill replica for blocks on the decode replica",
       cluster=True),
))

ITERATIONS = Table("iterations", "one row per batch run: a closed-form decode run of `steps` "
                   "identical iterations, or a single iteration", (
    _c("start_s", FLOAT, "when the run started"),
    _c("duration_s", FLOAT, "how long all its steps took"),
    _c("steps", INT, "iterations in the run", "count"),
    _c("batch_size", INT, "sequences in each iteration (decoding plus prefill chunks)", "count"),
    _c("prefill_tokens", INT, "prompt tokens computed"),
    _c("decode_tokens", INT, "tokens decoded over all its steps"),
    _c("kv_tokens", INT, "KV tokens of the decoding sequences (a single iteration counts the token "
       "each adds; a closed-form run counts them at its start)"),
    _c("stall_s", FLOAT, "of duration_s, time compute waited for weights streamed or experts fetched "
       "from below HBM (0 with every weight in HBM)"),
    _c("replica", INT, "the replica that ran it", "id", cluster=True),
))

TIERS = Table("tiers", "occupancy samples every engine.sample_interval (doubled as often as needed to "
              f"keep at most {MAX_SAMPLES:,} sample times, with a warning) and one at the end; each holds the "
              "state at the first serving-loop step at or after its time; one row per tier per sample", (
    _c("time_s", FLOAT, "sample time"),
    _c("tier", STR, "the tier's name in the hardware file (HBM first, then kv.tiers in order)", "label"),
    _c("used_bytes", INT, "bytes in use (HBM: blocks held by requests or the prefix cache)"),
    _c("capacity_bytes", INT, "bytes the tier may hold for KV (null for capacity: unlimited)"),
    _c("cached_bytes", INT, "HBM: bytes of prefix-cache blocks; a lower tier: its used bytes"),
    _c("running", INT, "requests running (loading, prefilling or decoding); 0 for lower tiers", "count"),
    _c("waiting", INT, "requests queued; 0 for lower tiers", "count"),
    _c("allocated_bytes", INT, "KV memory held for running requests: their blocks plus the cache "
       "entries they use (a lower tier: its used bytes)"),
    _c("kv_bytes", FLOAT, "the KV those hold (tokens x stored bytes per token, which compression may "
       "make fractional)"),
    _c("replica", INT, "the replica whose tier this is", "id", cluster=True),
))

LINKS = Table("links", "traffic per sample interval: one row per channel per sample (a link's "
              "direction, a storage device's read or write side, the tensor-parallel all-reduce)", (
    _c("time_s", FLOAT, "sample time (the interval ends here)"),
    _c("link", STR, "the link's name in the hardware file, or a lower tier's name for its device",
       "label"),
    _c("direction", STR, "a->b, both (half duplex and the all-reduce), or read/write for a device",
       "label"),
    _c("bytes", FLOAT, "bytes moved in the interval (fluid: a transfer's bytes spread over its time)"),
    _c("utilization", FLOAT, "bytes / (single-transfer bandwidth x interval); NaN for the all-reduce",
       "fraction"),
    _c("replica", INT, "the replica whose link this is (-1: a cluster link: NIC, NVLink between replicas, "
       "spine)", "id", cluster=True),
))

#: The tables of ``Result``, in save order.
OUTPUT = {t.name: t for t in (REQUESTS, ITERATIONS, TIERS, LINKS)}


def derive_requests(df: pd.DataFrame, *, tiers: tuple[str, ...] = (), recall: float = 1.0,
                    cluster: bool = False) -> pd.DataFrame:
    """The request table from its recorded columns: the derived ones added, all declared dtypes."""
    for c in REQUESTS.present(cluster):
        if not c.derived:
            for n, _ in c.expand(tiers):
                df[n] = _cast(df[n], c.dtype)
    df["recomputed_tokens"] = df["input_tokens"] - df["prefix_hit_tokens"] - df["loaded_tokens"]
    df["queue_s"] = df["scheduled_s"] - df["arrival_s"]
    df["ttft_s"] = df["first_token_s"] - df["arrival_s"]
    df["e2e_s"] = df["finish_s"] - df["arrival_s"]
    with np.errstate(divide="ignore", invalid="ignore"):
        gen = df["generated_tokens"].to_numpy()
        df["tpot_s"] = (df["finish_s"] - df["first_token_s"]).to_numpy() / np.where(gen > 1, gen - 1, np.nan)
    df["attention_recall"] = float(recall)
    return REQUESTS.conform(df, tiers, cluster=cluster)


def markdown(tables=None) -> str:
    """The tables as Markdown (the reference section of docs/engine.md is this text)."""
    lines = ["Units by suffix: " + "; ".join(f"`{s}` {u}" for s, u in UNITS.items()) + ". "
             "A column without a suffix is " + "; ".join(f"{k} ({v})" for k, v in UNITLESS.items()) + "."]
    for t in (tables or OUTPUT.values()):
        lines += ["", f"### `{t.name}`", "", t.description[0].upper() + t.description[1:] + ".", "",
                  "| column | unit | dtype | meaning |", "| --- | --- | --- | --- |"]
        for c in t.columns:
            unit = f"`{c.unit}`" if c.unit in UNITS else c.unit
            note = " (derived)" if c.derived else " (cluster runs only)" if c.cluster else ""
            lines.append(f"| `{c.shown_name}` | {unit} | {c.type_name} | "
                         f"{c.shown_description.replace('|', '&#124;')}{note} |")
    return "\n".join(lines) + "\n"
