"""Actions outside the approved process: installers' local port, network faults, power loss
and the attacker on the HAN (its state and its actions).

Every action is declared whatever the threat and fault model, tagged with the threat or fault
that enables it: ``SystemBuilder.build`` keeps only those of the scenario's models, so a property
that names one finds it declared (and never firing) where its model is off. This module needs
only the handles listed in :class:`Premises`, so it imports nothing of the model that uses it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Protocol

from otaproof.model.config import FAULTS, Parameters
from otaproof.model.lang import BOOL, EnumSort, Expr, ExprLike, IntSort, Var, any_of
from otaproof.model.system import NETWORK, Assign, Case, Channel, SystemBuilder, assign, case
from otaproof.model.vocabulary import ACTIVATION_REPORT, MISADDRESSED_CS02B, ImageInfo


@dataclass(frozen=True)
class HanAttacker:
    """What an attacker on the HAN has recorded: the last signed CS06 seen on each HCALCS's link."""

    captured: dict[str, Var]
    captured_image: dict[str, Var]
    captured_originator: dict[str, Var]
    captured_counter: dict[str, Var]
    captured_future: dict[str, Var]


class Premises(Protocol):
    """The handles of the model under construction that the environment's actions use."""

    @property
    def b(self) -> SystemBuilder: ...
    @property
    def p(self) -> Parameters: ...
    @property
    def threats(self) -> frozenset[str]: ...
    @property
    def faults(self) -> frozenset[str]: ...
    @property
    def catalogue(self) -> Mapping[str, ImageInfo]: ...
    @property
    def IMAGE(self) -> EnumSort: ...
    @property
    def SUPPLIER(self) -> EnumSort: ...
    @property
    def COUNTER(self) -> IntSort: ...
    @property
    def devices(self) -> tuple[str, ...]: ...
    @property
    def ppmids(self) -> tuple[str, ...]: ...
    @property
    def hcalcs(self) -> tuple[str, ...]: ...
    @property
    def running(self) -> Mapping[str, Var]: ...
    @property
    def held(self) -> Mapping[str, Var]: ...
    @property
    def scheduled(self) -> Mapping[str, Var]: ...
    @property
    def scheduled_image(self) -> Mapping[str, Var]: ...
    @property
    def ota_image(self) -> Mapping[str, Var]: ...
    @property
    def ota_upgrade_time_future(self) -> Mapping[str, Var]: ...
    @property
    def registered_supplier(self) -> Var: ...
    @property
    def wan_down(self) -> Mapping[str, Channel]: ...
    @property
    def wan_up(self) -> Mapping[str, Channel]: ...
    @property
    def han_down(self) -> Mapping[str, Channel]: ...
    @property
    def han_up(self) -> Mapping[str, Channel]: ...
    @property
    def han_attacker(self) -> HanAttacker | None: ...

    def model_of(self, d: str) -> str: ...
    def const_image(self, name: str) -> Expr: ...
    def fits(self, e: Expr, model: str) -> Expr: ...
    def signed(self, e: Expr) -> Expr: ...
    def version_of(self, e: Expr) -> Expr: ...
    def activate(self, d: str, image: ExprLike, authoriser: ExprLike, validated: ExprLike) -> list[Assign]: ...


def declare_han_attacker(m: Premises) -> HanAttacker | None:
    """The attacker's memory, under ``han_mitm`` only (declared with the rest of the state)."""
    if "han_mitm" not in m.threats:
        return None
    atk = m.b.machine("Attacker")
    return HanAttacker({d: atk.var(f"captured[{d}]", BOOL, False) for d in m.hcalcs},
                       {d: atk.var(f"captured_image[{d}]", m.IMAGE, "none") for d in m.hcalcs},
                       {d: atk.var(f"captured_originator[{d}]", m.SUPPLIER, "S1") for d in m.hcalcs},
                       {d: atk.var(f"captured_counter[{d}]", m.COUNTER, 0) for d in m.hcalcs},
                       {d: atk.var(f"captured_future[{d}]", BOOL, False) for d in m.hcalcs})


def declare_environment(m: Premises) -> None:
    """Add installer, fault and attacker actions to the model being built."""
    _local_updates(m)
    _network_faults(m)
    _power_loss(m)
    _han_attacker(m)


def _local_update(m: Premises, d: str, img: str) -> Case | None:
    """A local firmware update: the device checks the manufacturer signature and hardware only."""
    model, info = m.model_of(d), m.catalogue[img]
    if not m.p.local_updates or info.model != model:
        return None
    running, image = m.running[d], m.const_image(img)
    guard = m.fits(image, model) & m.signed(image) & (running != img)
    if m.p.anti_rollback:
        guard = guard & ~(m.version_of(running) > info.version)
    return case(guard, m.activate(d, img, "none", img))


def _local_updates(m: Premises) -> None:
    """Installer tools (when the ``local_updates`` parameter allows them) and physical attackers
    (threat ``local_physical``), through the same port."""
    imgs = tuple(m.catalogue)
    for d in m.devices:
        dev = m.b.machine(m.model_of(d))
        dev.action(f"LOCAL_installer_update[{d}]", lambda img, d=d: _local_update(m, d, img), role="environment",
                   params={"img": imgs}, category="local_update",
                   doc="an installer updates the firmware through the local port")
        dev.action(f"LOCAL_attacker_update[{d}]", lambda img, d=d: _local_update(m, d, img), role="attacker",
                   params={"img": imgs}, threat="local_physical", category="local_update",
                   doc="an attacker with physical access uses the local update port")


def _network_faults(m: Premises) -> None:
    net = m.b.machine(NETWORK)
    chans = {c.name: c for side in (m.wan_down, m.wan_up, m.han_down, m.han_up) for c in side.values()}
    ops: dict[str, Callable[[Channel], Case]] = {"loss": Channel.lose, "duplication": Channel.duplicate,
                                                 "reordering": Channel.reorder, "delay": Channel.delay}
    # with one message per channel there is nothing to overtake: no reordering or delay instance
    overtakes = m.p.capacity >= 2

    for fault, op in ops.items():
        def fault_step(channel: str, op: Callable[[Channel], Case] = op, fault: str = fault) -> Case | None:
            if fault in ("reordering", "delay") and not overtakes:
                return None
            return op(chans[channel])
        net.action(f"NET_{fault}", fault_step, role="fault", params={"channel": tuple(chans)}, fault=fault,
                   doc=FAULTS[fault])


def _power_loss(m: Premises) -> None:
    def hub_reset() -> Case | None:
        if not m.ppmids:
            return None
        held = any_of(m.ota_image[d] != "none" for d in m.ppmids)
        return case(held, [assign(var[d], value) for d in m.ppmids
                           for var, value in ((m.ota_image, "none"), (m.ota_upgrade_time_future, False))])

    m.b.machine("CH").action("POWER_loss_hub", hub_reset, role="fault", fault="power", category="power_loss",
                             doc="the hub loses power; images held for transfer are lost")
    for d in m.devices:
        def device_reset(d: str) -> Case:
            effects = [assign(m.held[d], "none"), assign(m.scheduled[d], False)]
            cond = (m.held[d] != "none") | m.scheduled[d]
            if d in m.hcalcs:
                effects.append(assign(m.scheduled_image[d], "none"))
            return case(cond, effects)

        m.b.machine(m.model_of(d)).action(
            f"POWER_loss_device[{d}]", device_reset, role="fault", fault="power", category="power_loss",
            params={"d": (d,)}, doc="the device loses power; the running image survives (A/B banks)")


def _han_attacker(m: Premises) -> None:
    atk, imgs = m.b.machine("Attacker"), tuple(m.catalogue)
    for d in m.devices:
        down, up = m.han_down[d], m.han_up[d]

        def substitute(img: str, down: Channel = down) -> Case:
            carries = any_of(down.head("kind") == k for k in ("IMAGE_BLOCK", "FW_DISTRIBUTION"))
            return case(down.nonempty() & carries & (down.head("img") != img), down.replace_head(img=img))

        atk.action(f"HAN_substitute_image[{d}]", substitute, role="attacker", params={"img": imgs},
                   threat="han_mitm", doc="replace the image in transit on the HAN")

        def drop(down: Channel = down) -> Case:
            return case(down.nonempty(), down.receive())

        atk.action(f"HAN_drop[{d}]", drop, role="attacker", threat="han_mitm",
                   doc="drop (jam) the next message to the device")

        def redirect(other: str, down: Channel = down) -> Case:
            # A copy of the CS02b on another device's link, sent to this device (still signed,
            # still addressed to the other device).
            src = m.han_down[other]
            return case(src.nonempty() & (src.head("kind") == "CS02b") & down.has_room(),
                        down.send(kind=MISADDRESSED_CS02B, originator=src.head("originator"), g_authoriser="none"))

        atk.action(f"HAN_redirect_credentials[{d}]", redirect, role="attacker",
                   params={"other": tuple(e for e in m.devices if e != d)}, threat="han_mitm",
                   doc="send this device a copy of another device's CS02b")

        def spoof(img: str, d: str = d, up: Channel = up) -> Case:
            # a forged CS09 (it carries no outcome) or a forged successful CS06 response
            report = ACTIVATION_REPORT[m.model_of(d)]
            result = {"outcome": "success"} if report == "CS06_RESPONSE" else {}
            return case(up.has_room(), up.send(kind=report, img=img, g_genuine=False, **result))

        atk.action(f"HAN_spoof_report[{d}]", spoof, role="attacker", params={"img": imgs}, threat="han_mitm",
                   doc="inject a forged activation report from the device")
        if d in m.hcalcs:
            _replay(m, d)


def _recorder(m: Premises) -> HanAttacker:
    """The attacker's memory (the han_mitm actions that use it are grounded under han_mitm only)."""
    rec = m.han_attacker
    assert rec is not None, "han_mitm actions are grounded only under han_mitm, which declares the attacker's state"
    return rec


def _replay(m: Premises, d: str) -> None:
    atk, down = m.b.machine("Attacker"), m.han_down[d]

    def capture() -> Case:
        rec = _recorder(m)
        same = rec.captured[d] & (rec.captured_counter[d] == down.head("counter")) \
            & (rec.captured_originator[d] == down.head("originator"))
        return case(down.nonempty() & (down.head("kind") == "CS06") & ~same,
                    assign(rec.captured[d], True), assign(rec.captured_image[d], down.head("img")),
                    assign(rec.captured_originator[d], down.head("originator")),
                    assign(rec.captured_counter[d], down.head("counter")),
                    assign(rec.captured_future[d], down.head("future")))

    def replay() -> Case:
        rec = _recorder(m)
        return case(rec.captured[d] & down.has_room(),
                    down.send(kind="CS06", img=rec.captured_image[d], originator=rec.captured_originator[d],
                              counter=rec.captured_counter[d], future=rec.captured_future[d], g_authoriser="none"))

    def old_supplier_command(by: str, img: str) -> Case | None:
        # A supplier that is no longer registered signs a fresh command with its own key and
        # injects it on the HAN (before or after the device's CS02b); needs old_supplier too.
        if "old_supplier" not in m.threats:
            return None
        return case(down.has_room() & (m.registered_supplier != by),
                    down.send(kind="CS06", img=img, originator=by, counter=m.p.counter_max, future=False,
                              g_authoriser="none"))

    atk.action(f"HAN_capture_command[{d}]", capture, role="attacker", threat="han_mitm",
               doc="record a signed CS06 command seen on the HAN")
    atk.action(f"HAN_replay_command[{d}]", replay, role="attacker", threat="han_mitm",
               doc="re-send the recorded CS06 command")
    atk.action(f"HAN_inject_old_supplier_command[{d}]", old_supplier_command, role="attacker",
               params={"by": tuple(m.SUPPLIER.values), "img": tuple(m.catalogue)}, threat="han_mitm",
               doc="the old supplier's signed CS06 injected before CS02b reaches the device (with old_supplier)")
