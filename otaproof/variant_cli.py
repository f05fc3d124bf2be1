"""``--variant-file PATH.py`` for every command that takes variants: one flag, one loader, one
trial build (docs/variants.md).

A command adds the flag with ``add_variant_file_flag``; ``cli.main`` then loads the installed
plugins' and the files' variants (checked, one located error, exit 2) and registers them for the
run (``variant_files``); the command builds its scenarios and calls ``trial_build`` on them
before any work, and takes its default variants from ``default_variant`` / ``default_variants``.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from contextlib import contextmanager

from otaproof.model.lang import ModelError
from otaproof.model.variant_files import load_variants, trial_build
from otaproof.model.variants import REGISTRY, Variant, get_variant, registered

__all__ = ["add_variant_file_flag", "changed_design", "default_variant", "default_variants", "design_record",
           "file_variants", "trial_build", "variant_files"]

APPROVED = "secmp0007"


def add_variant_file_flag(p: argparse.ArgumentParser) -> None:
    """``--variant-file PATH.py`` (repeatable)."""
    p.add_argument("--variant-file", action="append", metavar="PATH.py",
                   help="a design change written as a Python file (NAME, DOC, SOURCE, apply(m); docs/variants.md), "
                        "usable by its NAME; repeatable")


@contextmanager
def variant_files(args: argparse.Namespace) -> Iterator[tuple[Variant, ...]]:
    """The plugins' and the ``--variant-file`` variants, registered while the command runs (for
    commands with the flag; the others get none)."""
    if not hasattr(args, "variant_file"):
        yield ()
        return
    with registered(load_variants(args.variant_file or [])) as variants:
        yield variants


def file_variants() -> list[str]:
    """The names of the variants this run registered from ``--variant-file``, in order."""
    return [v.name for v in REGISTRY.values() if v.origin == "file"]


def default_variant() -> str:
    """A one-design command's default: the variant of the one ``--variant-file``, else the approved
    design; with several files the user must choose (ModelError)."""
    files = file_variants()
    if len(files) > 1:
        raise ModelError(f"{len(files)} variant files give {', '.join(files)}: choose one with --variant")
    return files[0] if files else APPROVED


def default_variants() -> list[str]:
    """A many-design command's default: the approved design and the file variants when files are
    given, else every known variant (built-in and plugin)."""
    files = file_variants()
    return [APPROVED, *files] if files else list(REGISTRY)


def changed_design() -> str:
    """``diff A`` without B: the design of the one ``--variant-file``."""
    files = file_variants()
    if len(files) != 1:
        given = f" ({len(files)} files give {', '.join(files)})" if files else ""
        raise ModelError(f"diff needs design B: name it, or give exactly one --variant-file{given}")
    return files[0]


def design_record(name: str) -> dict[str, str]:
    """A design's name, origin and where it is defined, as the JSON documents record it."""
    v = get_variant(name)
    return {"name": v.name, "origin": v.origin, "location": v.location, "doc": v.doc, "source": v.source}
