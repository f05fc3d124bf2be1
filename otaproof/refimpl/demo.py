"""``python -m otaproof.refimpl``: walk one PPMID and one HCALCS firmware update and print every step.

The PPMID is updated by SR 11.4 (GBCS CS05c, ZigBee OTA, CCS08, CS09); the HCALCS by SR 11.1
(distribution, verification receipt) then a future-dated SR 11.3 (GBCS CS06). Then SR 11.2 and
SR 8.2 read the result back. Output is deterministic for a given ``--seed``.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import TextIO

from otaproof.refimpl.config import PRESETS, Variants
from otaproof.refimpl.crypto import sha256
from otaproof.refimpl.errors import RejectionError
from otaproof.refimpl.scenario import Premises, PremisesConfig
from otaproof.refimpl.sim import Event, timestamp

_SHOWN = {"service_request", "accepted", "warning", "rejection", "message", "fault", "injected", "scheduled",
          "activation", "smi", "duis"}


class _Printer:
    """Prints new log events, with device IDs replaced by readable labels."""

    def __init__(self, premises: Premises, out: TextIO) -> None:
        self.premises, self.out, self.seen = premises, out, 0
        self.labels = {d: dev.DEVICE_TYPE for d, dev in premises.devices.items()}

    def say(self, text: str = "") -> None:
        print(text, file=self.out)

    def flush(self) -> None:
        for event in self.premises.log.events[self.seen:]:
            if event.kind in _SHOWN:
                self._print(event)
        self.seen = len(self.premises.log.events)

    def _print(self, event: Event) -> None:
        text = event.text
        for device_id, label in self.labels.items():
            text = text.replace(f"{label} {device_id}", label).replace(device_id, label)
        marker = {"rejection": "!! ", "fault": "~~ ", "smi": "   ", "duis": "   "}.get(event.kind, "")
        self.say(f"{timestamp(event.time)}  {marker}{text}")
        if event.kind == "message" and event.data.get("summary"):
            self.say(f"{'':21}    {event.data['summary']}")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The walk-through's options (shared by ``python -m otaproof.refimpl`` and ``otaproof simulate``)."""
    parser.add_argument("--seed", type=int, default=0, help="seed for keys, device IDs and network (default 0)")
    parser.add_argument("--variant", default="secmp0007", choices=list(PRESETS), metavar="VARIANT",
                        help=f"design variant, named as in the model: {', '.join(PRESETS)} "
                             "(default: secmp0007, the approved design)")


def run(args: argparse.Namespace) -> int:
    """Walk through the updates with parsed options; returns 0, or 2 on an unexpected rejection."""
    try:
        walk(args.seed, args.variant, sys.stdout)
    except BrokenPipeError:  # the reader (e.g. ``| head``) stopped early: not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except RejectionError as err:
        print(f"unexpected rejection: {type(err).__name__}: {err}", file=sys.stderr)
        return 2
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run the walk-through; returns 0, or 2 on bad arguments or an unexpected rejection."""
    parser = argparse.ArgumentParser(prog="python -m otaproof.refimpl", description=__doc__.splitlines()[0])
    add_arguments(parser)
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return 0 if exc.code == 0 else 2
    return run(args)


def walk(seed: int, variant: str, out: TextIO) -> Premises:
    """The walk-through itself; returns the premises so a caller can inspect the end state."""
    p = Premises(PremisesConfig(seed=seed, variants=PRESETS[variant]))
    show = _Printer(p, out)
    ppmid, hcalcs = p.ppmid, p.hcalcs
    show.say(f"otaproof reference implementation: OTA firmware updates (variant {variant}, seed {seed})")
    changed = {k: v for k, v in p.config.variants.switches().items() if Variants().switches()[k] != v}
    show.say("Switches: " + (", ".join(f"{k}={v}" for k, v in changed.items()) or "approved SECMP0007 defaults"))
    show.say(f"Premises: CH {p.hub.hub_id}; PPMID {ppmid.device_id}; HCALCS {hcalcs.device_id}")
    show.say(f"Registered supplier {p.registered_supplier}; manufacturer {p.manufacturer.name} "
             f"(ZigBee code 0x{p.manufacturer.code:04x}); both devices run firmware version 1")
    show.say()
    show.say("== CPL listing gateway: the manufacturer's signed images are listed ==")
    images = {t: p.firmware(t, 2) for t in ("PPMID", "HCALCS")}
    for t, image in images.items():
        show.say(f"  {p.models[t].model} version 2  sha256 {sha256(image).hex()[:16]}...  Listed")
    show.say()
    show.say("== 1. PPMID: SR 11.4 Update PPMID Firmware (GBCS CS05c, ZigBee OTA, CCS08, CS09) ==")
    p.update_ppmid(images["PPMID"], run=False)
    p.run()
    show.flush()
    show.say()
    show.say("== 2. HCALCS: SR 11.1 Update Firmware (distribution and verification receipt) ==")
    p.distribute(images["HCALCS"])
    show.flush()
    show.say()
    at = p.now + 3600
    show.say(f"== 3. HCALCS: SR 11.3 Activate Firmware (GBCS CS06, signed, future-dated {timestamp(at)}) ==")
    p.activate(images["HCALCS"], at=at)
    show.flush()
    show.say("   ... one hour of simulated time passes ...")
    p.advance(at - p.now)
    show.flush()
    show.say()
    show.say("== 4. Read back: SR 11.2 Read Firmware Version and SR 8.2 Read Inventory ==")
    for dev in (ppmid, hcalcs):
        p.read_firmware_version(dev.device_id)
    show.flush()
    for dev in (ppmid, hcalcs):
        inv = p.read_inventory(dev.device_id)
        show.flush()
        show.say(f"   SR 8.2 {dev.DEVICE_TYPE}: DeviceFirmwareVersion={inv.DeviceFirmwareVersion} "
                 f"DeviceFirmwareVersionStatus={inv.DeviceFirmwareVersionStatus} CPLStatus={inv.CPLStatus}")
    show.say()
    show.say(f"Done: PPMID runs version {ppmid.running_version}, HCALCS runs version {hcalcs.running_version}; "
             f"the hub holds {len(p.hub.held_images())} images.")
    return p
