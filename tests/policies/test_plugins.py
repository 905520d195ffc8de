"""A scenario file never runs code: policies resolve only against the registry.

Plugins load only by the user's explicit choice: ``--plugin MODULE``,
``MEMSIM_PLUGINS``, ``memsim.policies.register`` in their own code, or an
installed package's ``memsim.policies`` entry point (docs/security.md).
"""
from __future__ import annotations

import ast
import copy
import importlib
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

import memsim
from memsim.cli import main
from memsim.ground.errors import ConfigError
from memsim.policies import create, register, registry

REPO = Path(__file__).resolve().parents[2]
QUICK = yaml.safe_load((REPO / "scenarios" / "quickstart.yaml").read_text())
QUICK["workload"]["num_requests"] = 40

EVIL = {"name": "subprocess:Popen", "args": "touch {marker}", "shell": True}


def _scenario(tmp_path, mutate) -> Path:
    data = copy.deepcopy(QUICK)
    mutate(data, str(tmp_path / "PWNED"))
    f = tmp_path / "scenario.yaml"
    f.write_text(yaml.safe_dump(data))
    return f


def _evil(marker):
    return {k: (v.format(marker=marker) if isinstance(v, str) else v) for k, v in EVIL.items()}


def _prefix(d, m):
    d["kv"]["prefix_cache"]["eviction"] = _evil(m)


def _write(d, m):
    d["kv"]["write"] = _evil(m)


def _tier(d, m):
    d["platform"] = "h100_sxm"
    d["kv"]["tiers"] = [{"tier": "dram", "capacity": "1 GiB", "eviction": _evil(m)}]


def _compression(d, m):
    d["kv"]["compression"] = {"name": "os:system", "command": f"touch {m}"}


def _allocation(d, m):
    d["kv"]["allocation"] = "builtins:exec"


@pytest.mark.parametrize("mutate", [_prefix, _write, _tier, _compression, _allocation],
                         ids=["prefix_cache.eviction", "kv.write", "tier eviction", "compression",
                              "allocation"])
def test_module_path_in_a_scenario_is_one_line_exit_2_and_runs_nothing(tmp_path, capsys, mutate):
    f = _scenario(tmp_path, mutate)
    assert main(["run", str(f), "--json"]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1, err
    assert "unknown" in err and "policy" in err and "--plugin" in err
    assert not (tmp_path / "PWNED").exists()


def test_module_path_through_set_is_refused(tmp_path, capsys):
    marker = tmp_path / "PWNED"
    rc = main(["run", str(REPO / "scenarios" / "quickstart.yaml"), "--json",
               "--set", "kv.prefix_cache.eviction={name: 'subprocess:Popen', args: 'touch "
               f"{marker}', shell: true}}"])
    err = capsys.readouterr().err
    assert rc == 2 and len(err.strip().splitlines()) == 1 and "--plugin" in err
    assert not marker.exists()


def test_module_path_in_a_sweep_grid_is_refused_before_anything_runs(tmp_path, capsys):
    marker = tmp_path / "PWNED"
    sweep = {"base": str(REPO / "scenarios" / "quickstart.yaml"),
             "out": str(tmp_path / "out"),
             "grid": {"kv.prefix_cache.eviction": ["lru", {"name": "subprocess:Popen",
                                                           "args": f"touch {marker}", "shell": True}]}}
    f = tmp_path / "sweep.yaml"
    f.write_text(yaml.safe_dump(sweep))
    rc = main(["sweep", str(f), "--workers", "1", "--json"])
    err = capsys.readouterr().err
    assert rc == 2 and len(err.strip().splitlines()) == 1 and "--plugin" in err, err
    assert not marker.exists()
    assert not (tmp_path / "out" / "results.parquet").exists()


@pytest.mark.parametrize("spec,needle", [
    (42, "must be a name or a mapping"), ([1, 2], "must be a name or a mapping"),
    (3.5, "must be a name or a mapping"), ({"name": 7}, "must be a string"),
    ({"name": ["lru"]}, "must be a string"), ({"capacity": 3}, "needs a `name`"),
    ("os.path:join", "--plugin"), ("builtins.eval", "--plugin"),
])
def test_every_spec_shape_is_a_config_error(spec, needle):
    with pytest.raises(ConfigError, match=needle):
        create("eviction", spec, capacity=4)
    with pytest.raises(ConfigError, match=needle):
        registry.check_spec("eviction", spec)


def test_only_classes_implementing_the_protocol_register():
    with pytest.raises(ConfigError, match="missing .*victim"):
        @register("eviction")
        class Half:  # noqa: F811 - a deliberately incomplete policy
            name = "half_policy"

            def on_insert(self, key, size, now_s): ...

    assert "half_policy" not in registry.names("eviction")


def test_an_instance_or_class_from_python_must_implement_the_protocol():
    class NotAPolicy:
        name = "nope"

    with pytest.raises(ConfigError, match="does not implement the eviction policy interface"):
        create("eviction", NotAPolicy, capacity=3)
    with pytest.raises(ConfigError, match="does not implement"):
        create("eviction", NotAPolicy(), capacity=3)
    lru = create("eviction", "lru", capacity=3)
    assert create("eviction", lru) is lru


PLUGIN = textwrap.dedent('''
    from memsim.policies import register
    from memsim.policies.eviction import LRU

    @register("eviction")
    class PluginLRU(LRU):
        """LRU under another name, from a user's module."""
        name = "{name}"
''')


def test_plugin_module_on_the_command_line(tmp_path, capsys, monkeypatch):
    (tmp_path / "my_cli_policies.py").write_text(PLUGIN.format(name="plugin_lru_cli"))
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(registry.PLUGINS_ENV, raising=False)
    f = tmp_path / "s.yaml"
    data = copy.deepcopy(QUICK)
    data["kv"]["prefix_cache"]["eviction"] = "plugin_lru_cli"
    f.write_text(yaml.safe_dump(data))
    assert main(["run", str(f), "--json"]) == 2          # not loaded: unknown
    assert "unknown eviction policy 'plugin_lru_cli'" in capsys.readouterr().err
    assert main(["run", str(f), "--json", "--plugin", "my_cli_policies"]) == 0
    got = json.loads(capsys.readouterr().out)
    monkeypatch.delenv(registry.PLUGINS_ENV, raising=False)
    base = memsim.run(QUICK)
    assert got["completed"] == base.summary["completed"] and got["ttft_p50_s"] == base.summary["ttft_p50_s"]


def test_plugin_errors_are_one_line(tmp_path, capsys):
    bad = tmp_path / "broken_plugin.py"
    bad.write_text("raise RuntimeError('boom')\n")
    for argv, needle in ([["--plugin", "no_such_module_xyz"], "no module named 'no_such_module_xyz'"],
                         [["--plugin", str(bad)], "RuntimeError: boom"],
                         [["--plugin", str(tmp_path / "missing.py")], "no such file"]):
        assert main(["run", str(REPO / "scenarios" / "quickstart.yaml"), "--json", *argv]) == 2
        err = capsys.readouterr().err
        assert len(err.strip().splitlines()) == 1 and needle in err, err


def test_notebook_path_register_in_a_cell():
    @register("eviction", replace=True)
    class NotebookLRU(create("eviction", "lru", capacity=1).__class__):
        name = "notebook_lru"

    data = copy.deepcopy(QUICK)
    data["kv"]["prefix_cache"]["eviction"] = "notebook_lru"
    a, b = memsim.run(data), memsim.run(QUICK)
    assert a.summary["ttft_p50_s"] == b.summary["ttft_p50_s"]


def test_env_var_and_entry_point_plugins(tmp_path):
    """In a fresh process: MEMSIM_PLUGINS and an installed distribution's entry point."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "ep_plugin_mod.py").write_text(PLUGIN.format(name="ep_lru"))
    dist = site / "ep_plugin_dist-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: ep-plugin-dist\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[memsim.policies]\nep_lru = ep_plugin_mod\n")
    (tmp_path / "env_plugin_mod.py").write_text(PLUGIN.format(name="env_lru"))
    f = tmp_path / "s.yaml"
    for name, env in (("ep_lru", {}), ("env_lru", {registry.PLUGINS_ENV: str(tmp_path / "env_plugin_mod.py")})):
        data = copy.deepcopy(QUICK)
        data["kv"]["prefix_cache"]["eviction"] = name
        f.write_text(yaml.safe_dump(data))
        envs = {**os.environ, "PYTHONPATH": str(site), **env}
        envs.pop(registry.PLUGINS_ENV, None) if not env else None
        out = subprocess.run([sys.executable, "-m", "memsim", "run", str(f), "--json"], env=envs,
                             capture_output=True, text=True, timeout=120, cwd=tmp_path)
        assert out.returncode == 0, out.stderr
        assert json.loads(out.stdout)["completed"] == 40


# ---- the one door: every dynamic import in the source tree is accounted for ---------------

#: (file, function) -> why its argument cannot come from a data file
DYNAMIC_IMPORTS = {
    ("memsim/__init__.py", "__getattr__"): "names from the literal _API/_SUBPACKAGES tables",
    ("memsim/cli.py", "build_parser"): "module names from pkgutil over memsim/commands",
    ("policies/registry.py", "protocol_for"): "the literal _BASE table",
    ("policies/registry.py", "_builtins"): "the literal _FAMILY table",
    ("policies/registry.py", "load_plugin"): "the user's --plugin / MEMSIM_PLUGINS / own code",
    ("policies/fast/__init__.py", "kernel_for"): "the literal KERNELS table",
}
DYNAMIC = {"import_module", "__import__", "spec_from_file_location", "exec_module", "exec", "eval",
           "compile", "load"}


def _dynamic_calls():
    roots = ["memsim", "ground", "sim", "policies", "workloads", "hwmodels", "reports", "validate",
             "studies", "scenarios"]
    for root in roots:
        for p in sorted((REPO / root).rglob("*.py")):
            tree = ast.parse(p.read_text())
            stack = []

            def visit(node):
                for ch in ast.iter_child_nodes(node):
                    is_fn = isinstance(ch, (ast.FunctionDef, ast.AsyncFunctionDef))
                    if is_fn:
                        stack.append(ch.name)
                    if isinstance(ch, ast.Call):
                        f = ch.func
                        name = f.attr if isinstance(f, ast.Attribute) else getattr(f, "id", None)
                        if name in DYNAMIC and not (name in ("load", "compile") and isinstance(f, ast.Attribute)
                                                    and getattr(f.value, "id", "") in ("json", "yaml", "re", "np", "pickle")):
                            yield_to.append((str(p.relative_to(REPO)), stack[-1] if stack else "<module>", name,
                                             ch.lineno))
                    visit(ch)
                    if is_fn:
                        stack.pop()

            yield_to: list = []
            visit(tree)
            yield from yield_to


def test_every_dynamic_import_site_is_known():
    found = list(_dynamic_calls())
    unknown = [f"{f}:{line} {fn}() calls {what}" for f, fn, what, line in found
               if (f, fn) not in DYNAMIC_IMPORTS and not (what == "load" and fn == "load_entry_points")
               and what not in ("load",)]
    assert not unknown, "new dynamic import site (add it to DYNAMIC_IMPORTS with a reason):\n" + \
        "\n".join(unknown)
    # eval/exec never appear anywhere
    assert not [x for x in found if x[2] in ("eval", "exec", "compile")], found


def test_load_plugin_is_called_only_by_the_command_line_and_the_env_loader():
    callers = set()
    for f, fn, what, line in _calls_to("load_plugin"):
        callers.add((f, fn))
    assert callers <= {("memsim/cli.py", "load_plugins"), ("policies/registry.py", "load_env_plugins")}, callers


def _calls_to(target):
    for root in ["memsim", "ground", "sim", "policies", "workloads", "hwmodels", "reports", "validate", "studies"]:
        for p in sorted((REPO / root).rglob("*.py")):
            tree = ast.parse(p.read_text())
            for fn in ast.walk(tree):
                if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    for ch in ast.walk(fn):
                        if isinstance(ch, ast.Call):
                            f = ch.func
                            name = f.attr if isinstance(f, ast.Attribute) else getattr(f, "id", None)
                            if name == target:
                                yield str(p.relative_to(REPO)), fn.name, name, ch.lineno


def test_no_import_sees_a_string_from_the_data_file(tmp_path, monkeypatch):
    """Run scenarios whose policy fields hold module paths; no import receives them."""
    seen = []
    real = importlib.import_module

    def spy(name, *a, **k):
        seen.append(name)
        return real(name, *a, **k)

    monkeypatch.setattr(importlib, "import_module", spy)
    for spec in ("json:loads", "subprocess:Popen", "os.path", "memsim.policies.eviction.lru:LRU"):
        data = copy.deepcopy(QUICK)
        data["kv"]["prefix_cache"]["eviction"] = spec
        with pytest.raises(ConfigError):
            memsim.run(data)
    payloads = ("json", "subprocess", "os.path", "memsim.policies.eviction.lru:LRU")
    assert not [n for n in seen if n in payloads or ":" in n], seen
