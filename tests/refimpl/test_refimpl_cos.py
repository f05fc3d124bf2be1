"""Change of supplier (GBCS CS02b): the new supplier's anchor replaces the old; the old is refused."""

from __future__ import annotations

import pytest

from otaproof.refimpl import BadSignature, NotAuthorised, Premises, PremisesConfig, StaleCounter, Variants
from otaproof.refimpl import messages as m
from otaproof.refimpl.commands import MessageCode
from otaproof.refimpl.messages import ActivationOutcome, CommandError


def test_change_of_supplier_replaces_anchor_and_registration(premises: Premises) -> None:
    p = premises
    req = p.change_of_supplier("S2")
    s2 = p.suppliers["S2"]
    assert p.registered_supplier == "S2" and req.state == "completed"
    for device in p.devices.values():
        assert device.supplier_anchor == (s2.originator_id, s2.keys.public)
        assert p.dsp.registration[device.device_id] == "S2"


def test_new_supplier_updates_after_change_of_supplier(premises: Premises) -> None:
    p = premises
    p.change_of_supplier("S2")
    p.update_ppmid(p.firmware("PPMID", 2))
    image = p.firmware("HCALCS", 2)
    p.distribute(image)
    p.activate(image)
    assert (p.ppmid.running_version, p.hcalcs.running_version) == (2, 2)
    assert [k for k, _, _ in p.suppliers["S2"].inbox].count(m.CS06_RESPONSE) == 1


def test_old_supplier_service_requests_refused_at_dsp(premises: Premises) -> None:
    p = premises
    p.change_of_supplier("S2")
    image = p.firmware("PPMID", 2)
    with pytest.raises(NotAuthorised):
        p.update_ppmid(image, supplier="S1")
    with pytest.raises(NotAuthorised):
        p.distribute(p.firmware("HCALCS", 2), supplier="S1")
    with pytest.raises(NotAuthorised):
        p.activate(p.firmware("HCALCS", 2), supplier="S1")
    with pytest.raises(NotAuthorised):
        p.read_inventory(p.ppmid.device_id, supplier="S1")


def test_old_supplier_signed_command_refused_by_device(premises: Premises) -> None:
    # The old supplier goes round the DCC and injects its CS06 on the HAN.
    p, d = premises, premises.hcalcs.device_id
    image = p.firmware("HCALCS", 2)
    p.distribute(image)
    p.change_of_supplier("S2")
    command = p.suppliers["S1"].activate_firmware_command(d, p.hcalcs.held.hash)  # type: ignore[union-attr]
    with pytest.raises(BadSignature):
        p.hcalcs.activate_firmware(command)
    p.network.inject(m.Message(m.CS06, "CH", d, d, {"command": command}))
    p.run()
    assert p.hcalcs.running_version == 1
    assert [b["error"] for k, _, b in p.suppliers["S2"].inbox if k == m.CS06_RESPONSE] == \
        [CommandError.AUTHENTICATION_FAILURE]


def test_cs02b_not_signed_by_the_dcc_is_refused(premises: Premises) -> None:
    # A supplier cannot make itself the anchor: CS02b must verify against the DCC anchor.
    p, d = premises, premises.hcalcs.device_id
    s2 = p.suppliers["S2"]
    forged = s2.sign(MessageCode.CS02B_UPDATE_SECURITY_CREDENTIALS, d,
                     bytes.fromhex(s2.originator_id.replace("-", "")) + s2.keys.public)
    with pytest.raises(BadSignature):
        p.hcalcs.update_security_credentials(forged)
    assert p.hcalcs.supplier_anchor[0] == p.suppliers["S1"].originator_id


def test_cs02b_replayed_is_stale(premises: Premises) -> None:
    p, d = premises, premises.hcalcs.device_id
    p.change_of_supplier("S2")
    captured = p.network.captured(m.CS02B, dst=d)[0]
    with pytest.raises(StaleCounter):
        p.hcalcs.update_security_credentials(captured["command"])


def _replay_old_command(reset: bool) -> Premises:
    """S1 activates, the premises moves to S2 and back to S1, then S1's old CS06 is replayed."""
    p = Premises(PremisesConfig(seed=1, variants=Variants(cos_resets_counters=reset)))
    d = p.hcalcs.device_id
    image = p.firmware("HCALCS", 2)
    p.distribute(image)
    p.activate(image)
    old = p.network.captured(m.CS06, dst=d)[0]
    p.change_of_supplier("S2")
    p.change_of_supplier("S1")
    p.network.inject(old)
    p.run()
    return p


def test_counter_reset_on_change_of_supplier_lets_an_old_command_be_accepted_again() -> None:
    # Finding (P-REPLAY): with counters reset by CS02b, the old command passes the counter check
    # after S1 -> S2 -> S1 (it then fails only because the image is no longer held).
    p = _replay_old_command(reset=True)
    last = [b for k, _, b in p.suppliers["S1"].inbox if k == m.CS06_RESPONSE][-1]
    assert last["outcome"] is ActivationOutcome.NO_IMAGE_HELD


def test_counters_kept_across_change_of_supplier_refuse_the_old_command() -> None:
    p = _replay_old_command(reset=False)
    last = [b for k, _, b in p.suppliers["S1"].inbox if k == m.CS06_RESPONSE][-1]
    assert last["error"] is CommandError.COUNTER_FAILURE
