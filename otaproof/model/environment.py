"""Actions outside the approved process: installers' local port, network faults, power loss
and the attacker's capabilities. Each is present only when its parameter, fault or threat is on."""

from __future__ import annotations

from typing import TYPE_CHECKING

from otaproof.model.config import FAULTS
from otaproof.model.lang import any_of
from otaproof.model.system import NETWORK, Case, Channel, assign, case

if TYPE_CHECKING:
    from otaproof.model.secmp0007 import Secmp0007

# han_mitm only: a hub-to-device message kind for a copy of another device's CS02b (its
# business target is that device)
MISADDRESSED_CS02B = "CS02b_for_other_device"


def declare_environment(m: Secmp0007) -> None:
    """Add installer, fault and attacker actions to the model being built."""
    _local_updates(m)
    _network_faults(m)
    if "power" in m.faults:
        _power_loss(m)
    if "han_mitm" in m.threats:
        _han_attacker(m)


def _local_update(m: Secmp0007, d: str, img: str) -> Case | None:
    """A local firmware update: the device checks the manufacturer signature and hardware only."""
    model = m.model_of(d)
    info = m.catalogue[img]
    if info.model != model:
        return None
    running = m.running[d]
    rollback = m.version_of(running) > info.version if m.p.anti_rollback else None
    guard = m.fits(m.const_image(img), model) & m.signed(m.const_image(img)) & (running != img)
    if rollback is not None:
        guard = guard & ~rollback
    return case(guard, assign(running, img), assign(m.held[d], "none"),
                assign(m.g_act_auth[d], "none"), assign(m.g_act_req[d], img))


def _local_updates(m: Secmp0007) -> None:
    """Installer tools (when local updates are allowed) and physical attackers (threat)."""
    imgs = tuple(m.catalogue)
    for d in m.devices:
        if m.p.local_updates:
            m.b.machine(m.model_of(d)).action(
                f"LOCAL_installer_update[{d}]", lambda img, d=d: _local_update(m, d, img), role="environment",
                params={"img": imgs}, doc="an installer updates the firmware through the local port")
            if "local_physical" in m.threats:
                m.b.machine(m.model_of(d)).action(
                    f"LOCAL_attacker_update[{d}]", lambda img, d=d: _local_update(m, d, img), role="attacker",
                    params={"img": imgs}, threat="local_physical",
                    doc="an attacker with physical access uses the local update port")


def _channels(m: Secmp0007) -> list[Channel]:
    return [*m.wan_down.values(), *m.wan_up.values(), *m.han_down.values(), *m.han_up.values()]


def _network_faults(m: Secmp0007) -> None:
    net = m.b.machine(NETWORK)
    chans = {c.name: c for c in _channels(m)}
    ops = {"loss": Channel.lose, "duplication": Channel.duplicate, "reordering": Channel.reorder,
           "delay": Channel.delay}
    for fault, op in ops.items():
        if fault not in m.faults:
            continue
        if fault in ("reordering", "delay") and m.p.capacity < 2:
            continue  # with one message per channel there is nothing to overtake
        net.action(f"NET_{fault}", lambda channel, op=op: op(chans[channel]), role="fault",
                   params={"channel": tuple(chans)}, fault=fault, doc=FAULTS[fault])


def _power_loss(m: Secmp0007) -> None:
    ch = m.b.machine("CH")
    if m.ppmids:
        def hub_reset() -> Case:
            held = any_of(m.ch_image[d] != "none" for d in m.ppmids)
            return case(held, [assign(m.ch_image[d], "none") for d in m.ppmids])
        ch.action("POWER_loss_hub", hub_reset, role="fault", fault="power",
                  doc="the hub loses power; images held for transfer are lost")
    for d in m.devices:
        dev = m.b.machine(m.model_of(d))

        def device_reset(d: str = d) -> Case:
            effects = [assign(m.held[d], "none")]
            cond = m.held[d] != "none"
            if d in m.hcalcs:
                effects += [assign(m.pending[d], False), assign(m.pending_img[d], "none")]
                cond = cond | m.pending[d]
            return case(cond, effects)
        dev.action(f"POWER_loss_device[{d}]", device_reset, role="fault", fault="power",
                   doc="the device loses power; the running image survives (A/B banks)")


def _han_attacker(m: Secmp0007) -> None:
    atk = m.b.machine("Attacker")
    imgs = tuple(m.catalogue)
    for d in m.devices:
        down, up = m.han_down[d], m.han_up[d]
        carries = any_of(down.head("kind") == k for k in ("IMAGE_BLOCK", "FW_IMAGE"))

        def substitute(img: str, d: str = d, down: Channel = down, carries=carries) -> Case:  # type: ignore[no-untyped-def]
            return case(down.nonempty() & carries & (down.head("img") != img), down.replace_head(img=img))

        atk.action(f"HAN_substitute_image[{d}]", substitute, role="attacker", params={"img": imgs},
                   threat="han_mitm", doc="replace the image in transit on the HAN")

        def drop(d: str = d, down: Channel = down) -> Case:
            return case(down.nonempty(), down.receive())

        atk.action(f"HAN_drop[{d}]", drop, role="attacker", threat="han_mitm",
                   doc="drop (jam) the next message to the device")

        def redirect(other: str, d: str = d, down: Channel = down) -> Case:
            # A copy of the CS02b on another device's link, sent to this device (still signed,
            # still addressed to the other device).
            src = m.han_down[other]
            return case(src.nonempty() & (src.head("kind") == "CS02b") & down.has_room(),
                        down.send(kind=MISADDRESSED_CS02B, orig=src.head("orig"), g_auth="none"))

        others = tuple(e for e in m.devices if e != d)
        if others:
            atk.action(f"HAN_redirect_credentials[{d}]", redirect, role="attacker", params={"other": others},
                       threat="han_mitm", doc="send this device a copy of another device's CS02b")

        report = "CS09" if d in m.ppmids else "CS06_RESPONSE"

        def spoof(img: str, d: str = d, up: Channel = up, report: str = report) -> Case:
            return case(up.has_room(), up.send(kind=report, img=img, outcome="success", g_genuine=False))

        atk.action(f"HAN_spoof_report[{d}]", spoof, role="attacker", params={"img": imgs}, threat="han_mitm",
                   doc="inject a forged activation report from the device")
        if d in m.hcalcs:
            _replay(m, d)


def _replay(m: Secmp0007, d: str) -> None:
    atk = m.b.machine("Attacker")
    down = m.han_down[d]

    def capture(d: str = d) -> Case:
        return case(down.nonempty() & (down.head("kind") == "CS06")
                    & ~(m.captured[d] & (m.cap_ctr[d] == down.head("ctr"))
                        & (m.cap_orig[d] == down.head("orig"))),
                    assign(m.captured[d], True), assign(m.cap_img[d], down.head("img")),
                    assign(m.cap_orig[d], down.head("orig")), assign(m.cap_ctr[d], down.head("ctr")),
                    assign(m.cap_future[d], down.head("future")))

    def replay(d: str = d) -> Case:
        return case(m.captured[d] & down.has_room(),
                    down.send(kind="CS06", img=m.cap_img[d], orig=m.cap_orig[d], ctr=m.cap_ctr[d],
                              future=m.cap_future[d], g_auth="none"))

    atk.action(f"HAN_capture_command[{d}]", capture, role="attacker", threat="han_mitm",
               doc="record a signed CS06 command seen on the HAN")
    atk.action(f"HAN_replay_command[{d}]", replay, role="attacker", threat="han_mitm",
               doc="re-send the recorded CS06 command")
    if "old_supplier" in m.threats:
        def old_supplier_command(by: str, img: str, d: str = d) -> Case:
            # A supplier that is no longer registered signs a fresh command with its own key and
            # injects it on the HAN (before or after the device's CS02b).
            return case(down.has_room() & (m.registered != by),
                        down.send(kind="CS06", img=img, orig=by, ctr=m.p.counter_max,
                                  future=False, g_auth="none"))

        atk.action(f"HAN_inject_old_supplier_command[{d}]", old_supplier_command, role="attacker",
                   params={"by": tuple(m.SUPPLIER.values), "img": tuple(m.catalogue)}, threat="han_mitm",
                   doc="the old supplier's signed CS06 injected before CS02b reaches the device")

