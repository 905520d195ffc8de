"""``memsim schema scenario|hardware|model``: the JSON Schema of a YAML file, for editors."""
from __future__ import annotations

from memsim.ground.errors import ConfigError

from ._common import add_command, print_json

KINDS = ("scenario", "hardware", "model")


def register(sub) -> None:
    p = add_command(sub, "schema", help="print the JSON Schema of a scenario, hardware or model file",
                    example="memsim schema hardware > hardware.schema.json", func=_schema)
    p.add_argument("kind", choices=KINDS, help="which file type")


def schema_of(kind: str) -> dict:
    """The pydantic JSON Schema (validation mode) of ``kind``."""
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


def _schema(args) -> int:
    print_json(schema_of(args.kind))
    return 0
