"""Writing outputs safely: checked paths, atomic files, result folders as transactions.

- ``check_output`` looks at an output path before any work starts, so a bad ``--out``
  is one line at once, not a traceback after the whole simulation ran.
- ``atomic_write_*`` write a file whole under a temporary name, then rename it, so a
  reader (or a rerun after ``kill -9``) sees the old file or the new one, never half.
  A rename replaces the name, never what a symbolic link points at.
- ``result_folder`` makes a folder one transaction: everything is written into a fresh
  hidden sibling folder, a ``manifest.json`` (run id, every file's sha256) is written
  last, and the folder is swapped into place.  A killed or failed write leaves the old
  folder as it was; its debris is removed by the next write.
- Any ``OSError`` while writing (a full disk, a quota, a read-only file system) becomes
  a one-line ``ConfigError`` naming the path.
"""
from __future__ import annotations

import ctypes
import errno
import hashlib
import json
import os
import re
import shutil
import stat
import tempfile
import uuid
from contextlib import contextmanager
from pathlib import Path

import pandas as pd

from .errors import ConfigError

__all__ = ["atomic_write_bytes", "atomic_write_text", "atomic_write_parquet", "atomic_write_with",
           "umask_mode", "check_output", "result_folder", "read_manifest", "verify_manifest",
           "is_memsim_folder", "safe_name", "write_error", "MANIFEST"]

#: written last into every folder memsim owns: its kind, run id and every file's sha256
MANIFEST = "manifest.json"

# Pseudo file systems: a path there is not a place for results (``/proc/self/...``, ``/sys``).
_SPECIAL_FS = {"proc", "sysfs", "devtmpfs", "devpts", "cgroup", "cgroup2", "debugfs", "tracefs",
               "securityfs", "bpf", "configfs", "pstore", "efivarfs", "fusectl", "mqueue",
               "binfmt_misc", "autofs", "nsfs", "hugetlbfs", "rpc_pipefs"}
_SPECIAL_ROOTS = ("/proc", "/sys", "/dev")
_DEV_OK = ("/dev/shm",)          # a tmpfs where files are ordinary


def umask_mode() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def write_error(path, e: OSError, *, field: str | None = None) -> ConfigError:
    """An ``OSError`` raised while writing ``path`` as the one-line error the CLI prints."""
    hint = {errno.ENOSPC: " (the disk is full; nothing already there was replaced)",
            errno.EDQUOT: " (over the disk quota; nothing already there was replaced)",
            errno.EROFS: " (a read-only file system)"}.get(e.errno, "")
    return ConfigError(f"cannot write {path}: {e.strerror or e}{hint}", field=field)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _debris_prefix(name: str) -> str:
    return f".{name}.{os.getpid()}-"


_DEBRIS = re.compile(r"^\.(?P<name>.+)\.(?P<pid>\d+)-[0-9a-z_]+\.(?P<what>tmp|partial|old)$")


_CLEANED: set[str] = set()


def _clean_debris(folder: Path) -> None:
    """Remove what killed writers left in ``folder`` (temporary files and folders), once per
    process and folder (a sweep writes thousands of point files into one).

    Only debris of processes that are gone is touched; a folder moved aside (``.old``)
    whose target is missing is moved back, so a kill between the two renames of a swap
    restores the old result.
    """
    key = os.path.realpath(folder)
    if key in _CLEANED:
        return
    _CLEANED.add(key)
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return
    for ent in entries:
        m = _DEBRIS.match(ent.name)
        if m is None or _pid_alive(int(m["pid"])):
            continue
        path = Path(ent.path)
        try:
            if m["what"] == "old" and not os.path.lexists(folder / m["name"]):
                os.rename(path, folder / m["name"])
            elif ent.is_dir(follow_symlinks=False):
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink()
        except OSError:
            pass


def _is_debris(name: str, owned) -> bool:
    """A temporary file of a writer: ours (with a pid), or the older ``mkstemp`` kind
    (``.summary.json.k3j_x9a2.tmp``) left beside a file memsim writes."""
    if _DEBRIS.match(name):
        return True
    m = re.match(r"^\.(?P<name>.+)\.[0-9a-z_]{8}\.tmp$", name)
    return m is not None and m["name"] in owned


def _tmp_name(folder: Path, name: str, what: str) -> Path:
    return folder / f"{_debris_prefix(name)}{uuid.uuid4().hex[:12]}.{what}"


def atomic_write_with(path: Path, write) -> None:
    """Atomically create ``path`` by calling ``write(tmp_path)``, which writes the whole file."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        _clean_debris(path.parent)
        tmp = _tmp_name(path.parent, path.name, "tmp")
        try:
            write(str(tmp))
            os.chmod(tmp, umask_mode())
            os.replace(tmp, path)
        except BaseException:
            if os.path.lexists(tmp):
                os.unlink(tmp)
            raise
    except OSError as e:
        raise write_error(path, e) from None


def atomic_write_bytes(path: Path, data: bytes) -> None:
    def write(tmp: str) -> None:
        with open(tmp, "xb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
    atomic_write_with(path, write)


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_parquet(df: pd.DataFrame, path: Path) -> None:
    atomic_write_with(path, lambda tmp: df.to_parquet(tmp, index=False))


# ---------------------------------------------------------------------------- output paths

def safe_name(label: str, *, default: str = "run") -> str:
    """A label as one folder name: letters, digits, ``._-`` kept, anything else ``_``; never
    ``.``/``..`` or hidden (a scenario file named ``...yaml`` has the stem ``..``)."""
    text = re.sub(r"[^\w.-]", "_", str(label)).lstrip(".")
    return text or default


def _mount_type(path: Path) -> str | None:
    """The file-system type of the mount holding ``path`` (Linux), else None."""
    try:
        lines = Path("/proc/self/mountinfo").read_text().splitlines()
    except OSError:
        return None
    best, kind = "", None
    p = str(path)
    for line in lines:
        left, _, right = line.partition(" - ")
        fields = left.split()
        if len(fields) < 5 or not right:
            continue
        mnt = fields[4].replace("\\040", " ")
        if (p == mnt or p.startswith(mnt.rstrip("/") + "/")) and len(mnt) >= len(best):
            best, kind = mnt, right.split()[0]
    return kind


def _nearest_existing(p: Path) -> Path:
    cur = p
    while not os.path.lexists(cur):
        if cur.parent == cur:
            break
        cur = cur.parent
    return cur


def _probe(folder: Path, flag: str, shown: str) -> None:
    """Can a file be created in ``folder``?  (Tried, not guessed: root, ACLs, read-only mounts.)"""
    try:
        with tempfile.TemporaryFile(dir=folder, prefix=".memsim-probe."):
            pass
    except OSError as e:
        raise ConfigError(f"{shown}: cannot write in {folder}: {e.strerror or e}", field=flag) from None


def is_memsim_folder(path: Path, markers=()) -> bool:
    """True for a folder memsim wrote: a manifest, or one of ``markers`` (older results)."""
    path = Path(path)
    return any(os.path.lexists(path / m) for m in (MANIFEST, *markers))


def check_output(path, kind: str = "file", *, flag: str = "--out", force: bool = False,
                 markers=("summary.json",)) -> Path | None:
    """Check an output path before any work starts; ``ConfigError`` naming ``flag`` if it is bad.

    ``kind="file"``: the path is a regular file (replaced atomically) or does not exist yet,
    in an existing folder.  ``kind="dir"``: a folder, created with its parents if missing;
    an existing non-empty folder must be one memsim wrote (a manifest or one of
    ``markers``) unless ``force``.  Refused always: the empty string, a symbolic link
    (memsim never writes through one onto its target), devices, pipes and sockets
    (``/dev/null``), pseudo file systems (``/proc``, ``/sys``), folders where no file can
    be created.  None passes through (no output asked for).
    """
    if path is None:
        return None
    if isinstance(path, bool) or not isinstance(path, (str, os.PathLike)):
        raise ConfigError(f"expected a path, got {type(path).__name__} {path!r}", field=flag)
    text = os.fspath(path)
    if isinstance(text, bytes) or not text.strip():
        raise ConfigError(f"{text!r} is not a path (empty)", field=flag)
    if "\0" in text:
        raise ConfigError(f"{text!r} holds a NUL character", field=flag)
    p = Path(text)
    shown = text
    if p.is_symlink():
        raise ConfigError(f"{shown}: is a symbolic link; memsim does not write through links "
                          f"(give the link's target, or another path)", field=flag)
    here = _nearest_existing(p.absolute())
    real = Path(os.path.realpath(here))
    fs = _mount_type(real)
    under = any(str(real) == r or str(real).startswith(r + "/") for r in _SPECIAL_ROOTS)
    if fs in _SPECIAL_FS or (under and not str(real).startswith(_DEV_OK)):
        raise ConfigError(f"{shown}: is in {f'a {fs} file system' if fs in _SPECIAL_FS else real}, "
                          "not a place for results", field=flag)
    if os.path.lexists(p):
        mode = os.lstat(p).st_mode
        if kind == "file":
            if stat.S_ISDIR(mode):
                raise ConfigError(f"{shown}: is a folder; expected a file name", field=flag)
            if not stat.S_ISREG(mode):
                raise ConfigError(f"{shown}: is not a regular file (a device, pipe or socket); "
                                  "memsim writes only regular files", field=flag)
            _probe(p.parent if str(p.parent) else Path("."), flag, shown)
        else:
            if not stat.S_ISDIR(mode):
                raise ConfigError(f"{shown}: exists and is not a folder", field=flag)
            _probe(p, flag, shown)
            try:
                empty = next(os.scandir(p), None) is None
            except OSError as e:
                raise ConfigError(f"{shown}: cannot read the folder: {e.strerror}", field=flag) from None
            if not empty and not force and not is_memsim_folder(p, markers):
                raise ConfigError(f"{shown}: the folder is not empty and holds no memsim output; "
                                  "give --force to write into it (memsim then replaces only "
                                  "the files it writes)", field=flag)
        return p
    if kind == "file":
        parent = p.absolute().parent
        if not os.path.lexists(parent):
            raise ConfigError(f"{shown}: folder {p.parent} does not exist", field=flag)
        if not parent.is_dir():
            raise ConfigError(f"{shown}: {p.parent} is not a folder", field=flag)
        _probe(parent, flag, shown)
        return p
    if not here.is_dir():
        raise ConfigError(f"cannot create {shown}: {here} is not a folder", field=flag)
    _probe(here, flag, shown)
    return p


# ---------------------------------------------------------------------------- transactions

def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths in one step (Linux renameat2 RENAME_EXCHANGE); False where unsupported."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        fn = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    rc = fn(at_fdcwd, os.fsencode(str(a)), at_fdcwd, os.fsencode(str(b)), rename_exchange)
    if rc == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP):
        return False
    raise OSError(err, os.strerror(err), str(b))


def _swap_in(new: Path, target: Path) -> None:
    """Put folder ``new`` at ``target``; the old folder there, if any, is removed after."""
    if not os.path.lexists(target):
        os.rename(new, target)
        return
    if _exchange(new, target):
        shutil.rmtree(new, ignore_errors=True)     # ``new`` now holds the old folder
        return
    # Without an exchange: the old folder is moved aside first.  A kill between the two
    # renames leaves it as ``.NAME.PID-x.old``, which the next write moves back.
    old = _tmp_name(target.parent, target.name, "old")
    os.rename(target, old)
    os.rename(new, target)
    shutil.rmtree(old, ignore_errors=True)


def _link_tree(src: Path, dst: Path) -> None:
    """``src`` into ``dst`` as hard links (a copy where links do not work): no byte is moved,
    so a kill at any point leaves the original where it was."""
    if src.is_dir() and not src.is_symlink():
        dst.mkdir(exist_ok=True)
        for ent in os.scandir(src):
            _link_tree(Path(ent.path), dst / ent.name)
        return
    if os.path.lexists(dst):
        return
    if src.is_symlink():
        os.symlink(os.readlink(src), dst)
        return
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def _owned_entries(folder: Path, owned, legacy) -> set[str]:
    """Top-level names in an existing folder that memsim wrote: its manifest's files; for a
    folder from before manifests (one of ``legacy`` there), the names in ``owned``; else none
    (a user's folder written into with --force: every file of theirs is kept unless memsim
    writes one of the same name)."""
    names = {MANIFEST}
    try:
        m = json.loads((folder / MANIFEST).read_text())
        for rel in list(m.get("files", {})) + list(m.get("derived", {})):
            names.add(str(rel).split("/", 1)[0])
        return names
    except (OSError, ValueError, AttributeError, TypeError):
        pass
    if any(os.path.lexists(folder / m) for m in legacy):
        names |= set(owned)
    return names


@contextmanager
def result_folder(path, *, kind: str = "result", owned=(), derived=(), legacy=("summary.json",),
                  run_id: str | None = None, info: dict | None = None):
    """Write a folder as one transaction: yields a fresh hidden sibling folder to write into.

    On leaving the block, files already in ``path`` that memsim did not write (not in
    its manifest; in a folder from before manifests, marked by a file in ``legacy``, not
    named in ``owned``) are hard-linked into the new folder, the
    manifest is written last (``kind``, ``run_id``, sha256 of every file; files named in
    ``derived``, such as a report rebuilt later, are listed apart), and the new folder
    replaces the old in one rename.  An exception (or a kill) leaves ``path`` untouched.
    """
    target = Path(path)
    tmp = None
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        _clean_debris(target.parent)
        tmp = _tmp_name(target.parent, target.name, "partial")
        tmp.mkdir()
        yield tmp
        files, extra = {}, {}       # what memsim wrote, not the user's files carried below
        for f in sorted(tmp.rglob("*")):
            if f.is_file() and not f.is_symlink():
                rel = f.relative_to(tmp).as_posix()
                if rel != MANIFEST:
                    (extra if rel.split("/", 1)[0] in derived else files)[rel] = _sha256(f)
        if target.is_dir() and not target.is_symlink():
            keep = _owned_entries(target, owned, legacy)
            for ent in os.scandir(target):
                if _is_debris(ent.name, keep):
                    continue           # a killed writer's temporary file: not carried over
                if ent.name not in keep and not os.path.lexists(tmp / ent.name):
                    _link_tree(Path(ent.path), tmp / ent.name)
        manifest = {"memsim": kind, "run_id": run_id or uuid.uuid4().hex, **(info or {}),
                    "files": files, "derived": extra}
        with open(tmp / MANIFEST, "x") as fh:
            fh.write(json.dumps(manifest, indent=1) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        _swap_in(tmp, target)
        tmp = None
    except OSError as e:
        raise write_error(getattr(e, "filename", None) or target, e) from None
    finally:
        if tmp is not None and os.path.lexists(tmp):
            shutil.rmtree(tmp, ignore_errors=True)


def read_manifest(folder) -> dict | None:
    """A folder's manifest (None if it has none); ``ConfigError`` if it is unreadable."""
    folder = Path(folder)
    m = folder / MANIFEST
    if not os.path.lexists(m):
        return None
    try:
        data = json.loads(m.read_text())
    except (OSError, ValueError) as e:
        raise ConfigError(f"{MANIFEST} is unreadable ({e}); the folder is not a complete memsim "
                          "output", file=str(folder)) from None
    files = data.get("files") if isinstance(data, dict) else None
    if not isinstance(files, dict) or not all(isinstance(v, str) for v in files.values()):
        raise ConfigError(f"{MANIFEST} lists no files; the folder is not a complete memsim output",
                          file=str(folder))
    for rel in files:
        parts = Path(rel).parts
        if not parts or Path(rel).is_absolute() or ".." in parts:
            raise ConfigError(f"{MANIFEST} names {rel!r}, outside the folder", file=str(folder))
    return data


def verify_manifest(folder, *, only=None) -> dict | None:
    """Check that the files the manifest lists (those ``only`` accepts) are there, unchanged.

    Returns the manifest (None without one); ``ConfigError`` on the first mismatch."""
    folder = Path(folder)
    data = read_manifest(folder)
    if data is None:
        return None
    run = data.get("run_id", "?")
    for rel, digest in data["files"].items():
        if only is not None and not only(rel):
            continue
        f = folder / rel
        if not f.is_file() or f.is_symlink():
            raise ConfigError(f"{rel} of run {run} is missing; the folder is not one complete "
                              "result (an interrupted write or a file removed)", file=str(folder))
        if _sha256(f) != digest:
            raise ConfigError(f"{rel} does not match {MANIFEST} (run {run}): the folder mixes "
                              "files of different runs, or one was changed after memsim wrote it",
                              file=str(folder))
    return data
