"""The simulated clock and the seeded network: exact fault sequences, reproducible runs."""

from __future__ import annotations

import pytest

from otaproof.refimpl import Premises, PremisesConfig, UsageError
from otaproof.refimpl import messages as m
from otaproof.refimpl.sim import START_TIME, EventLog, Network, Simulation


def texts(p: Premises) -> list[str]:
    return [f"{e.time} {e.source} {e.kind} {e.text}" for e in p.log.events]


def full_update(seed: int, chaos: bool = False) -> Premises:
    p = Premises(PremisesConfig(seed=seed))
    if chaos:
        p.faults.chaos(loss=0.05, duplication=0.1, reordering=0.1, delay=0.1)
    p.update_ppmid(p.firmware("PPMID", 2))
    image = p.firmware("HCALCS", 2)
    p.distribute(image)
    p.activate(image)
    p.advance(7200)
    return p


def test_same_seed_same_keys_ids_and_event_log() -> None:
    a, b = full_update(3), full_update(3)
    assert texts(a) == texts(b)
    assert a.suppliers["S1"].keys.public == b.suppliers["S1"].keys.public


def test_other_seed_other_identities() -> None:
    assert full_update(3).ppmid.device_id != full_update(4).ppmid.device_id


def test_seeded_chaos_is_reproducible() -> None:
    a, b = full_update(5, chaos=True), full_update(5, chaos=True)
    assert texts(a) == texts(b) and a.log.of("fault")


def test_chaos_never_breaks_the_device_invariants() -> None:
    # whatever the faults, devices run a genuine listed image and the hub ends up holding nothing
    for seed in range(20):
        p = full_update(seed, chaos=True)
        p.advance(p.config.variants.ota_timeout)
        assert p.hub.held_images() == {}
        for device in p.devices.values():
            assert device.running_version in (1, 2)
            assert device.running.signature_valid(p.manufacturer.keys.public)


def test_rule_hits_only_the_nth_match(premises: Premises) -> None:
    rule = premises.faults.lose(m.IMAGE_BLOCK_REQUEST, nth=3)
    premises.update_ppmid(premises.firmware("PPMID", 2))
    lost = premises.log.of("fault", message=m.IMAGE_BLOCK_REQUEST)
    assert len(lost) == 1 and rule.seen == 3
    assert len(premises.log.of("message", message=m.IMAGE_BLOCK_REQUEST)) == 2


def test_delay_moves_delivery_later(premises: Premises) -> None:
    premises.faults.delay(m.CS05C, seconds=500)
    premises.update_ppmid(premises.firmware("PPMID", 2))
    [delivery] = premises.log.of("message", message=m.CS05C)
    assert delivery.time == START_TIME + 501


def test_fault_rule_arguments_are_checked(premises: Premises) -> None:
    with pytest.raises(UsageError):
        premises.faults.lose(nth=0)
    with pytest.raises(UsageError):
        premises.faults.chaos(loss=1.5)


def test_clock_cannot_run_backwards(premises: Premises) -> None:
    with pytest.raises(UsageError):
        premises.sim.run_until(premises.now - 1)


def test_endpoint_attached_twice_is_a_caller_bug() -> None:
    net = Network(Simulation(EventLog()), seed=0)
    net.attach("X", lambda msg: None)
    with pytest.raises(UsageError):
        net.attach("X", lambda msg: None)


def test_message_to_unknown_endpoint_is_logged(premises: Premises) -> None:
    premises.network.inject(m.Message(m.CS09, "CH", "nowhere", "nowhere"))
    premises.run()
    assert premises.log.of("undeliverable")


def test_timers_fire_in_order_without_real_sleeping() -> None:
    sim, fired = Simulation(EventLog()), []
    sim.call_at(START_TIME + 10, lambda: fired.append(10))
    timer = sim.call_at(START_TIME + 5, lambda: fired.append(5))
    sim.call_at(START_TIME + 5, lambda: fired.append(6))
    timer.cancel()
    sim.run_until(START_TIME + 86_400 * 365)
    assert fired == [6, 10] and sim.now == START_TIME + 86_400 * 365
