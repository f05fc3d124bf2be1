"""Bad input, as a user meets it: each case runs the installed ``otaproof`` in a scratch folder and
prints one Markdown row (input, exit code, first line of stderr, what is left on disk).

    python benchmarks/bad_input.py            # the table for issue 19's closing note

Every case must exit 2 (or 143/130 for signals) with one line and leave the files as they were;
the script exits 1 naming any case that does not.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

CHEAP = ["--property", "P-CPL", "--timeout", "20"]


@dataclass(frozen=True)
class Case:
    """One bad input: the command line, the exit code it must give, and how to set up the folder."""

    title: str
    argv: list[str]
    expect: int
    setup: Callable[[Path], None] = lambda d: None
    left: Callable[[Path], str] = lambda d: ", ".join(sorted(p.name for p in d.iterdir())) or "nothing"


def _user_folder(d: Path) -> None:
    (d / "X").mkdir()
    (d / "X" / "thesis.txt").write_text("a user's file\n")


def _plain_file(d: Path) -> None:
    (d / "f").write_text("keep\n")


def _dangling(d: Path) -> None:
    (d / "link.json").symlink_to(d / "target.json")


CASES = [
    Case("generate --force over a folder generate did not write",
         ["generate", "--out", "X", "--force"], 2, _user_folder,
         lambda d: "X/thesis.txt intact" if (d / "X" / "thesis.txt").read_text() == "a user's file\n" else "LOST"),
    Case("generate --force over a plain file", ["generate", "--out", "f", "--force"], 2, _plain_file,
         lambda d: "f intact" if (d / "f").read_text() == "keep\n" else "LOST"),
    Case("check --json DIR (a directory)", ["check", *CHEAP, "--json", "."], 2),
    Case("check --json into a missing folder", ["check", *CHEAP, "--json", "no/such/dir/v.json"], 2),
    Case("check --json /dev/full (a device)", ["check", *CHEAP, "--json", "/dev/full"], 2,
         left=lambda d: "/dev/full still a device" if Path("/dev/full").is_char_device() else "REPLACED"),
    Case("matrix --json to a symlink (followed)", ["matrix", "--variant", "secmp0007", "--threat-model", "none",
                                                  *CHEAP, "--quiet", "--json", "link.json"], 0, _dangling,
         lambda d: "link.json still a symlink, target.json written" if (d / "link.json").is_symlink()
         and (d / "target.json").is_file() else "WRONG"),
    Case("check --timeout nan", ["check", "--timeout", "nan"], 2),
    Case("check --timeout inf", ["check", "--timeout", "inf"], 2),
    Case("check --workers 0", ["check", "--workers", "0"], 2),
    Case("generate --coverage-timeout -1", ["generate", "--out", "s", "--coverage-timeout", "-1"], 2),
    Case("check --threat mitm (unknown name)", ["check", "--threat", "mitm"], 2),
    Case("matrix --threat-model han-mitm (unknown name)", ["matrix", "--threat-model", "han-mitm"], 2),
    Case("check --fault duplication at capacity 1 (warned, then checked)",
         ["check", "--fault", "duplication", *CHEAP, "--quiet"], 0),
    Case("the same --property three times (checked once)",
         ["check", "--property", "P-CPL", "--property", "P-CPL", "--property", "P-CPL", "--timeout", "20",
          "--quiet", "--json", "v.json"], 0,
         left=lambda d: f"v.json with {(d / 'v.json').read_text().count(chr(34) + 'P-CPL' + chr(34))} P-CPL entry"),
    Case("check --variant secmp007 (typo)", ["check", "--variant", "secmp007"], 2),
    Case("simulate --variant local_daily_alert (refimpl's old name)",
         ["simulate", "--variant", "local_daily_alert"], 2),
    Case("check --ppmids 9 (impossible bound)", ["check", "--ppmids", "9"], 2),
]


def _run(case: Case) -> tuple[int, str, str]:
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        case.setup(d)
        p = subprocess.run(["otaproof", *case.argv], cwd=d, capture_output=True, text=True, timeout=900)
        lines = [x for x in p.stderr.splitlines() if x.strip() and not x.startswith("[")]
        return p.returncode, (lines[0] if lines else "(none)"), case.left(d)


def _signal_case(sig: signal.Signals, expect: int) -> tuple[str, int, str, str]:
    """Start a long check, send ``sig`` after 5 s, and look for surviving workers 2 s after exit."""
    with tempfile.TemporaryDirectory() as tmp:
        p = subprocess.Popen(["otaproof", "check", "--no-cache", "--json", "v.json", "--quiet"], cwd=tmp,
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, start_new_session=True)
        time.sleep(5)
        p.send_signal(sig)
        _, err = p.communicate(timeout=120)
        time.sleep(2)
        try:
            os.killpg(p.pid, 0)
            alive = "workers still alive"
        except ProcessLookupError:
            alive = "no worker left"
        left = ", ".join(os.listdir(tmp)) or "nothing"
        first = next((x for x in err.splitlines() if x.strip()), "(none)")
        return f"SIGTERM/SIGINT: {sig.name} to a running check", p.returncode, first, f"{left}; {alive}"


def main() -> int:
    """Run every case, print the table, and return 1 if any case misbehaved."""
    print("| input | exit | message (first line of stderr) | left on disk |")
    print("|---|---|---|---|")
    bad = []
    for case in CASES:
        code, message, left = _run(case)
        print(f"| `otaproof {' '.join(case.argv)}` ({case.title}) | {code} | {message} | {left} |", flush=True)
        if code != case.expect or "LOST" in left or "REPLACED" in left or "WRONG" in left:
            bad.append(case.title)
    for sig, expect in ((signal.SIGTERM, 143), (signal.SIGINT, 130)):
        title, code, message, left = _signal_case(sig, expect)
        print(f"| {title} | {code} | {message} | {left} |", flush=True)
        if code != expect or "still alive" in left:
            bad.append(title)
    for title in bad:
        print(f"unexpected: {title}", file=sys.stderr)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
