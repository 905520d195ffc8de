"""``memsim schema scenario|hardware|model|results``: what a file holds, for editors and readers.

scenario, hardware and model print the JSON Schema of their YAML files; ``results`` prints
the columns of every table a run writes (``sim/tables.py``), as text or with ``--json``.
"""
from __future__ import annotations

from memsim.ground.errors import ConfigError

from ._common import add_command, print_json
from ._table import table

KINDS = ("scenario", "hardware", "model", "results")


def register(sub) -> None:
    p = add_command(sub, "schema", help="print the JSON Schema of a scenario, hardware or model file, "
                                        "or the columns of a run's result tables",
                    example="memsim schema hardware > hardware.schema.json; memsim schema results",
                    func=_schema)
    p.add_argument("kind", choices=KINDS, help="which file type (results: the tables of `memsim run --out`)")
    p.add_argument("--json", action="store_true",
                   help="results as JSON (the YAML kinds always print JSON Schema)")


def schema_of(kind: str) -> dict:
    """The pydantic JSON Schema (validation mode) of ``kind``, or the result tables."""
    if kind == "results":
        return results_schema()
    if kind == "hardware":
        from memsim.hwmodels import Platform as cls
    elif kind == "model":
        from memsim.workloads.model import ModelSpec as cls
    else:
        try:
            from memsim.sim.kinds import schema
        except ImportError:
            raise ConfigError("scenario schema not available", field="schema") from None
        out = schema()       # the union of every kind (serve, flash, offload, ...)
        out.setdefault("$schema", "https://json-schema.org/draft/2020-12/schema")
        return out
    out = cls.model_json_schema()
    out.setdefault("$schema", "https://json-schema.org/draft/2020-12/schema")
    return out


def results_schema() -> dict:
    """{"units": suffix -> unit, "kinds": ..., "tables": {name: {description, columns: [...]}}}."""
    from memsim.sim.tables import OUTPUT, UNITLESS, UNITS
    return {"units": dict(UNITS), "kinds": dict(UNITLESS), "tables": {
        t.name: {"file": f"{t.name}.parquet", "description": t.description,
                 "columns": [{"name": c.shown_name, "unit": c.unit, "dtype": c.type_name,
                              "derived": c.derived, "description": c.shown_description}
                             for c in t.columns]}
        for t in OUTPUT.values()}}


def results_text() -> str:
    s = results_schema()
    out = ["units by suffix: " + ", ".join(f"{k} {v}" for k, v in s["units"].items())]
    for name, t in s["tables"].items():
        out += ["", f"{t['file']}: {t['description']}",
                table(["column", "unit", "dtype", "meaning"],
                      [[c["name"], c["unit"], c["dtype"], c["description"]] for c in t["columns"]])]
    return "\n".join(out)


def _schema(args) -> int:
    if args.kind == "results" and not args.json:
        print(results_text())
    else:
        print_json(schema_of(args.kind))
    return 0
