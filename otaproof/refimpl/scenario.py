"""The scenario API: one premises (hub, devices, suppliers, DSP, CPL) built from a small config.

    p = Premises(PremisesConfig(seed=1))
    v2 = p.firmware("PPMID", 2)                  # signed by the manufacturer, listed on the CPL
    p.update_ppmid(v2)                           # SR 11.4, runs until no message is in flight
    assert p.ppmid.running_version == 2
    assert p.read_inventory(p.ppmid.device_id).DeviceFirmwareVersion == 2

Every component is an attribute (``dsp``, ``hub``, ``cpl``, ``smi``, ``devices``, ``suppliers``,
``network``, ``log``) so a test can inspect all state; ``faults`` schedules network faults.
Service Request helpers raise the DSP's RejectionError, exactly as :class:`refimpl.dsp.DSP` does.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import TypeVar

from otaproof.refimpl.commands import eui_text
from otaproof.refimpl.config import Variants
from otaproof.refimpl.cpl import CPLRegistry, DeviceModel
from otaproof.refimpl.crypto import sha256
from otaproof.refimpl.devices import HCALCS, IHD, PPMID, HanDevice
from otaproof.refimpl.dsp import DSP, ServiceRequest
from otaproof.refimpl.errors import ImageFormatError, UsageError
from otaproof.refimpl.hub import CommsHub
from otaproof.refimpl.image import FirmwareImage, parse_image
from otaproof.refimpl.parties import DCCSigner, Manufacturer, Supplier
from otaproof.refimpl.sim import EventLog, FaultPlan, Network, Simulation
from otaproof.refimpl.smi import SMI, InventoryEntry

MANUFACTURER = ("ACME Metering", 0x1234)
MODELS = {"PPMID": ("PPMID-100", 0x0101, PPMID), "HCALCS": ("HCALCS-200", 0x0201, HCALCS),
          "IHD": ("IHD-300", 0x0301, IHD)}
FULL_HARDWARE = (0, 0xFFFF)
D = TypeVar("D", bound=HanDevice)


@dataclass(frozen=True)
class PremisesConfig:
    """How many devices of each type, which suppliers, which variant switches, which seed."""

    seed: int = 0
    ppmids: int = 1
    hcalcs: int = 1
    ihds: int = 0
    suppliers: tuple[str, ...] = ("S1", "S2")
    hardware_version: int = 1
    initial_version: int = 1
    variants: Variants = field(default_factory=Variants)

    def __post_init__(self) -> None:
        if min(self.ppmids, self.hcalcs, self.ihds) < 0 or self.ppmids + self.hcalcs + self.ihds == 0:
            raise UsageError("a premises needs at least one device and no negative counts")
        if not self.suppliers:
            raise UsageError("a premises needs a supplier")


class Premises:
    """One premises and the DCC around it; the first supplier is the registered one."""

    def __init__(self, config: PremisesConfig | None = None) -> None:
        self.config = c = config or PremisesConfig()
        rng = random.Random(c.seed)
        self.log = EventLog()
        self.sim = Simulation(self.log)
        self.network = Network(self.sim, c.seed)
        self.cpl = CPLRegistry()
        self.smi = SMI()
        self.manufacturer = Manufacturer(*MANUFACTURER, seed=c.seed)
        self.models: dict[str, DeviceModel] = {t: self.manufacturer.model(name, image_type, t)
                                               for t, (name, image_type, _) in MODELS.items()}
        self.suppliers = {name: Supplier(name, _eui(rng, 0x90), c.seed) for name in c.suppliers}
        self.dcc = DCCSigner("DCC", _eui(rng, 0xDC), c.seed)
        self.dsp = DSP(self.network, self.cpl, self.smi, self.dcc, c.variants)
        self.devices: dict[str, HanDevice] = {}
        first = self.suppliers[c.suppliers[0]]
        for device_type, n in (("PPMID", c.ppmids), ("HCALCS", c.hcalcs), ("IHD", c.ihds)):
            for _ in range(n):
                self._commission(device_type, _eui(rng, 0xDB), first)
        for s in self.suppliers.values():
            self.dsp.enrol(s)
        for d in self.devices:
            self.dsp.register(d, first.name)
        self.hub = CommsHub(_eui(rng, 0xC4), self.network, c.variants,
                            {d: dev.DEVICE_TYPE for d, dev in self.devices.items()})
        if c.variants.hub_stores_versions:  # the hub learns each OTA client's version when it joins
            self.hub.device_versions.update({d: dev.running_version for d, dev in self.devices.items()
                                             if d in self.hub.transfers})

    def _commission(self, device_type: str, device_id: str, supplier: Supplier) -> None:
        """Install a device running the initial firmware, with its trust anchors, into the SMI."""
        c, model = self.config, self.models[device_type]
        image = self.firmware(device_type, c.initial_version)
        cls = MODELS[device_type][2]
        self.devices[device_id] = cls(device_id, model, c.hardware_version, image, self.manufacturer.keys.public,
                                      (supplier.originator_id, supplier.keys.public),
                                      (self.dcc.originator_id, self.dcc.keys.public), self.network, c.variants)
        self.smi.add(device_id, model, c.initial_version)

    # --- the premises' devices -------------------------------------------------------------
    def of_type(self, device_type: str) -> list[HanDevice]:
        """Devices of one type, in commissioning order."""
        return [d for d in self.devices.values() if d.DEVICE_TYPE == device_type]

    @property
    def ppmid(self) -> PPMID:
        """The first PPMID."""
        return self._first(PPMID)

    @property
    def hcalcs(self) -> HCALCS:
        """The first HCALCS."""
        return self._first(HCALCS)

    @property
    def ihd(self) -> IHD:
        """The first IHD."""
        return self._first(IHD)

    def _first(self, cls: type[D]) -> D:
        for device in self.devices.values():
            if type(device) is cls:
                return device
        raise UsageError(f"this premises has no {cls.DEVICE_TYPE}")

    @property
    def faults(self) -> FaultPlan:
        """The network's fault plan (lose, duplicate, delay, reorder, chaos)."""
        return self.network.faults

    @property
    def registered_supplier(self) -> str:
        """The supplier registered for the premises' first device."""
        return self.dsp.registration[next(iter(self.devices))]

    # --- firmware ----------------------------------------------------------------------------
    def firmware(self, device_type: str, version: int, *, signed: bool = True,
                 hardware: tuple[int, int] = FULL_HARDWARE, list_on_cpl: bool = True) -> bytes:
        """A Manufacturer Image for the premises' model of ``device_type``, listed on the CPL if asked
        (through the listing gateway when signed, directly by a CPL administrator when not)."""
        model = self.models[device_type]
        image = self.manufacturer.build_firmware(model, version, hardware=hardware, signed=signed)
        if list_on_cpl and signed:
            self.cpl.list_image(model, image, self.manufacturer.keys.public)
        elif list_on_cpl:
            self.cpl.list_hash(model, version, sha256(image))
        return image

    # --- Service Requests and other actions ---------------------------------------------------
    def update_ppmid(self, image: bytes, *, devices: list[str] | None = None, supplier: str | None = None,
                     version: int | None = None, stated_hash: bytes | None = None,
                     activation_time: int | None = None, run: bool = True) -> ServiceRequest:
        """SR 11.4 Update PPMID Firmware (defaults: every PPMID, the registered supplier, true hash)."""
        targets = devices if devices is not None else [d.device_id for d in self.of_type("PPMID")]
        req = self.dsp.submit_sr11_4(supplier or self.registered_supplier, image,
                                     stated_hash if stated_hash is not None else sha256(image),
                                     version if version is not None else _version(image), targets, activation_time)
        return self._maybe_run(req, run)

    def distribute(self, image: bytes, *, devices: list[str] | None = None, supplier: str | None = None,
                   version: int | None = None, stated_hash: bytes | None = None, run: bool = True) -> ServiceRequest:
        """SR 11.1 Update Firmware to HCALCSs (defaults as for update_ppmid)."""
        targets = devices if devices is not None else [d.device_id for d in self.of_type("HCALCS")]
        req = self.dsp.submit_sr11_1(supplier or self.registered_supplier, image,
                                     stated_hash if stated_hash is not None else sha256(image),
                                     version if version is not None else _version(image), targets)
        return self._maybe_run(req, run)

    def activate(self, image: bytes, *, device: str | None = None, supplier: str | None = None,
                 at: int | None = None, run: bool = True) -> ServiceRequest:
        """SR 11.3 Activate Firmware: the supplier signs CS06 for the image's hash (future-dated if ``at``)."""
        target = device or self.hcalcs.device_id
        signer = self.suppliers[supplier or self.registered_supplier]
        command = signer.activate_firmware_command(target, sha256(image), at)
        return self._maybe_run(self.dsp.submit_sr11_3(signer.name, command), run)

    def read_firmware_version(self, device: str, *, supplier: str | None = None, run: bool = True) -> ServiceRequest:
        """SR 11.2 Read Firmware Version; the answer lands in the supplier's inbox."""
        return self._maybe_run(self.dsp.submit_sr11_2(supplier or self.registered_supplier, device), run)

    def read_inventory(self, device: str, *, supplier: str | None = None) -> InventoryEntry:
        """SR 8.2 Read Inventory, answered from the SMI."""
        return self.dsp.read_inventory(supplier or self.registered_supplier, device)

    def change_of_supplier(self, new_supplier: str, *, run: bool = True) -> ServiceRequest:
        """Change of supplier for every device of the premises (registration, then GBCS CS02b)."""
        return self._maybe_run(self.dsp.change_of_supplier(list(self.devices), new_supplier), run)

    def local_update(self, device: str, image: bytes, *, screened_by: str | None = None) -> FirmwareImage:
        """An installer updates ``device`` through its local port (screened by the DCC for a supplier)."""
        dev = self.devices[device]
        token = self.dsp.screen_local_update(screened_by, device, image) if screened_by else None
        result = dev.local_update(image, token)
        self.run()
        return result

    # --- time -------------------------------------------------------------------------------
    def run(self) -> int:
        """Deliver every message in flight (the clock moves by the network latency)."""
        return self.sim.settle()

    def advance(self, seconds: int) -> None:
        """Let ``seconds`` of simulated time pass: timers fire, messages are delivered."""
        self.sim.run_until(self.sim.now + seconds)
        self.run()

    @property
    def now(self) -> int:
        """The simulated time in seconds since the epoch."""
        return self.sim.now

    def _maybe_run(self, req: ServiceRequest, run: bool) -> ServiceRequest:
        if run:
            self.run()
        return req


def _eui(rng: random.Random, kind: int) -> str:
    """A seeded EUI-64 entity ID; the second byte says what kind of party it is."""
    return eui_text(bytes([0x00, kind]) + rng.randbytes(6))


def _version(image: bytes) -> int:
    """The file version in an image header (the SR's FirmwareVersion unless given)."""
    try:
        return parse_image(image).header.file_version
    except ImageFormatError:
        raise UsageError("the image is malformed: pass its FirmwareVersion explicitly (version=...)") from None
