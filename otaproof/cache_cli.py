"""The certificate cache on the command line: ``--no-cache`` and ``--cache-dir`` on every command
that checks, and ``otaproof cache info`` / ``otaproof cache clear``.

Exit codes of ``cache``: 0 done, 2 bad input (a ``--cache-dir`` that is a file).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from rich.console import Console

from otaproof.properties.cache import ENV, CacheUse, CertificateCache, default_root

EXIT_OK, EXIT_BAD_INPUT = 0, 2


class CacheDirError(Exception):
    """A ``--cache-dir`` that cannot be a directory: one line, exit 2."""


def add_cache_flags(p: argparse.ArgumentParser) -> None:
    """``--no-cache`` and ``--cache-dir``: the flags of every command that checks properties."""
    p.add_argument("--no-cache", action="store_true",
                   help="neither re-use nor store certificates: every property part is proved by the engines "
                        "(docs/cache.md)")
    _add_dir_flag(p)


def _add_dir_flag(p: argparse.ArgumentParser) -> None:
    p.add_argument("--cache-dir", metavar="DIR",
                   help=f"the certificate cache's directory (default: ${ENV} if set, else {default_root()})")


def _root(args: argparse.Namespace) -> Path:
    value = getattr(args, "cache_dir", None)
    root = Path(value) if value else default_root()
    if root.exists() and not root.is_dir():
        raise CacheDirError(f"--cache-dir {root}: exists and is not a directory")
    return root


def cache_use(args: argparse.Namespace, exact_only: bool = False) -> CacheUse | None:
    """The run's cache (None with ``--no-cache``), checked before any work; ``exact_only``:
    re-use only certificates of this very model (``otaproof evidence``)."""
    if getattr(args, "no_cache", False):
        return None
    return CacheUse(CertificateCache(_root(args)), exact_only)


def report(use: CacheUse | None) -> None:
    """After a run, on stderr: each unreadable entry passed over, and what the cache gave."""
    if use is None:
        return
    for problem in use.problems:
        print(f"otaproof: warning: {problem}", file=sys.stderr)
    if use.reused + use.stale + use.missed:
        print(f"otaproof: {use.summary()}", file=sys.stderr)


def _cmd_cache(args: argparse.Namespace, console: Console) -> int:
    try:
        cache = CertificateCache(_root(args))
    except CacheDirError as e:
        print(f"otaproof: error: {e}", file=sys.stderr)
        return EXIT_BAD_INPUT
    if args.action == "clear":
        removed = cache.clear()
        console.print(f"certificate cache {cache.root}: {removed} files removed", highlight=False)
        return EXIT_OK
    info = cache.info()
    console.print(f"certificate cache: {info.root}\n"
                  f"entries: {info.entries} (proofs and counterexamples of property parts), {info.cells} cells\n"
                  f"size: {info.bytes / 1e6:.2f} MB", highlight=False)
    return EXIT_OK


def add_parser(sub: Any) -> None:
    """``otaproof cache info|clear``."""
    c = sub.add_parser("cache", help="where the certificate cache is and what it holds, or empty it",
                       description="Cached proofs are re-checked on the current model from their obligations and "
                                   "cached counterexamples replayed before either is used; info shows the cache's "
                                   "path, entries and size, clear removes every entry.")
    c.add_argument("action", choices=("info", "clear"))
    _add_dir_flag(c)
    c.set_defaults(func=_cmd_cache)
