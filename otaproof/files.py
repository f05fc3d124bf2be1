"""Output files and directories: checked before any work, written atomically, never clobbering.

A report is either completely written or not there at all. Every output path a command takes is
checked first (``check_output_file``, ``check_output_dir``), so bad paths fail in one line before
minutes of solving. Writes follow a symlink to its target, refuse anything that is not a regular
file (a directory, a device such as ``/dev/full``, a FIFO), and give new files the usual
permissions (0644 under the default umask), as ``open(path, "w")`` would.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import tempfile
from pathlib import Path
from typing import Any

# a directory written by otaproof carries this file; only such a directory may be replaced
MARKER = ".otaproof-output"


class OutputError(Exception):
    """An output path that cannot be written: one line naming the option and the path."""


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _target(path: Path) -> Path:
    """The file a write to ``path`` lands in: a symlink's final target, otherwise ``path``."""
    return Path(os.path.realpath(path)) if path.is_symlink() else path


def _probe_directory(directory: Path, what: str) -> None:
    """Fail unless a file can really be created in ``directory`` (permissions, read-only mounts)."""
    if not directory.is_dir():
        raise OutputError(f"{what}: directory {directory} does not exist")
    try:
        fd, tmp = tempfile.mkstemp(prefix=".otaproof-probe.", dir=directory)
    except OSError as e:
        raise OutputError(f"{what}: cannot write in {directory}: {e.strerror or e}") from None
    os.close(fd)
    os.unlink(tmp)


def check_output_file(path: str | Path, option: str) -> Path:
    """Check that ``path`` can be written as a regular file (new, or an existing regular file or a
    symlink to one) in a writable directory; returns the path to write, or raises OutputError."""
    what = f"{option} {path}"
    target = _target(Path(path))
    if target.exists() or target.is_symlink():
        mode = target.lstat().st_mode if not target.exists() else target.stat().st_mode
        if stat.S_ISDIR(mode):
            raise OutputError(f"{what}: is a directory, expected a file name")
        if not stat.S_ISREG(mode):
            raise OutputError(f"{what}: is not a regular file (a device, FIFO or socket); refusing to replace it")
    _probe_directory(target.parent if str(target.parent) else Path("."), what)
    return target


def check_output_dir(path: str | Path, option: str, force: bool = False) -> Path:
    """Check that ``path`` can become an output directory: new, or (with ``force``) a directory
    an earlier otaproof run wrote (it holds ``MARKER``); anything else is refused untouched."""
    out = Path(path)
    what = f"{option} {out}"
    if out.is_symlink():
        raise OutputError(f"{what}: is a symbolic link; give the directory itself")
    if out.exists():
        if not force:
            raise OutputError(f"{what}: exists; choose another directory or pass --force to replace it")
        if not out.is_dir():
            raise OutputError(f"{what}: is not a directory; --force only replaces a directory otaproof wrote")
        if not (out / MARKER).is_file():
            raise OutputError(f"{what}: was not written by otaproof (no {MARKER} in it); "
                              "--force only replaces such a directory, so nothing was touched")
    _probe_directory(out.resolve().parent, what)
    return out


def write_bytes_atomic(path: str | Path, data: bytes) -> None:
    """Write ``data`` to a temporary file beside the target and rename it into place; on any error
    the temporary file is removed and the target is left as it was. A symlink is followed (its
    target is replaced, the link kept); a non-regular file is refused."""
    target = check_output_file(path, "output")
    directory = target.parent if str(target.parent) else Path(".")
    mode = target.stat().st_mode & 0o7777 if target.exists() else 0o666 & ~_umask()
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=directory)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def write_atomic(path: str | Path, text: str) -> None:
    """Text (UTF-8) written atomically, as :func:`write_bytes_atomic`."""
    write_bytes_atomic(path, text.encode("utf-8"))


def write_json_atomic(path: str | Path, data: Any) -> None:
    """JSON with sorted keys (byte-for-byte reproducible), written atomically."""
    write_atomic(path, json.dumps(data, indent=2, sort_keys=True) + "\n")


def new_output_dir(out: Path) -> Path:
    """A fresh, empty temporary directory beside ``out`` with the usual permissions (0755 under
    the default umask) and the otaproof marker; fill it, then ``replace_dir`` moves it into place."""
    parent = out.resolve().parent
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=parent))
    os.chmod(tmp, 0o777 & ~_umask())
    (tmp / MARKER).write_text("written by otaproof; `--force` may replace this directory\n")
    return tmp


def replace_dir(tmp: Path, out: Path) -> None:
    """Move the filled directory ``tmp`` to ``out``, replacing an earlier otaproof output there
    (checked by ``check_output_dir``) only once the new one is complete."""
    if not out.exists():
        os.replace(tmp, out)
        return
    if not (out / MARKER).is_file():  # re-checked: the directory may have changed since the start
        shutil.rmtree(tmp, ignore_errors=True)
        raise OutputError(f"{out}: was not written by otaproof; nothing was touched")
    old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old.", dir=out.resolve().parent))
    os.replace(out, old / out.name)
    os.replace(tmp, out)
    shutil.rmtree(old)
