"""The pack's manifest: the SHA-256 of every file, what produced them (tool, git commit, Python
and Z3 versions, parameters, seeds, the command), and its Ed25519 signature.

``manifest.json`` lists every file of the pack but itself, its signature, ``timings.json``
(wall-clock figures, the one file that differs between two builds) and ``report.pdf`` (a print
of the hashed ``index.html`` that carries its print date). ``manifest.sig`` is the
base64 Ed25519 signature of the exact bytes of ``manifest.json``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import platform
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

SCHEMA = "otaproof.manifest/1"
MANIFEST, SIGNATURE, TIMINGS, PDF = "manifest.json", "manifest.sig", "timings.json", "report.pdf"
UNLISTED = (MANIFEST, SIGNATURE, TIMINGS, PDF)  # report.pdf: a print of index.html, dated by the printer


class KeyFileError(ValueError):
    """A key file that cannot be used (one line, exit code 2)."""


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def git_commit() -> dict[str, Any] | None:
    """The commit of the source tree otaproof runs from, when it is a git checkout."""
    root = Path(__file__).resolve().parents[3]
    if not (root / ".git").exists():
        return None
    try:
        head = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True,
                              timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=10, check=True).stdout.strip() != ""
    except (OSError, subprocess.SubprocessError):
        return None
    return {"commit": head, "modified": dirty}


def versions() -> dict[str, str]:
    def version(name: str) -> str:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            return "unknown"

    return {"otaproof": version("otaproof"), "python": platform.python_version(), "z3": version("z3-solver"),
            "cryptography": version("cryptography"), "matplotlib": version("matplotlib"), "jinja2": version("jinja2")}


def manifest(files: dict[str, bytes], plan: dict[str, Any], command: list[str]) -> bytes:
    """``manifest.json`` for the pack's files (path -> content), deterministic: sorted keys, no time."""
    doc = {"schema": SCHEMA, "tool": "otaproof", "versions": versions(), "git": git_commit(),
           "parameters": plan["parameters"], "seeds": {"z3": plan["budget"]["seed"], "storm": plan["storm"]["seed"]},
           "plan": plan, "command": command,
           "files": {path: {"sha256": sha256(data), "bytes": len(data)} for path, data in sorted(files.items())}}
    return (json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8")


def load_private_key(path: str | Path) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(Path(path).read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as e:
        raise KeyFileError(f"--sign-key {path}: not a readable unencrypted PEM private key ({e})") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise KeyFileError(f"--sign-key {path}: not an Ed25519 key (make one with otaproof keygen)")
    return key


def load_public_key(path: str | Path) -> Ed25519PublicKey:
    try:
        key = serialization.load_pem_public_key(Path(path).read_bytes())
    except (OSError, ValueError, TypeError) as e:
        raise KeyFileError(f"--public-key {path}: not a readable PEM public key ({e})") from None
    if not isinstance(key, Ed25519PublicKey):
        raise KeyFileError(f"--public-key {path}: not an Ed25519 public key")
    return key


def sign(key: Ed25519PrivateKey, manifest_bytes: bytes) -> bytes:
    """``manifest.sig``: Ed25519 signatures are deterministic, so the same manifest gives the same file."""
    return base64.b64encode(key.sign(manifest_bytes)) + b"\n"


def signature_ok(key: Ed25519PublicKey, manifest_bytes: bytes, sig_file: bytes) -> bool:
    try:
        key.verify(base64.b64decode(sig_file.strip(), validate=True), manifest_bytes)
    except (InvalidSignature, ValueError):
        return False
    return True


def keypair() -> tuple[bytes, bytes]:
    """A new Ed25519 key pair as PEM: (private PKCS#8, public SubjectPublicKeyInfo)."""
    key = Ed25519PrivateKey.generate()
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    public = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    return private, public
