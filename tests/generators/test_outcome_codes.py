"""The model's outcome families and the reference implementation's codes are the same GBCS and
ZigBee codes, so the adapter reads a report back into the model by its code."""

from __future__ import annotations

from otaproof.model.vocabulary import (
    CCS08_OUTCOME,
    CS06_OUTCOME,
    DEVICE_REFUSAL,
    FW_DISTRIBUTION_RECEIPT_RESULT,
    UPGRADE_END_STATUS,
)
from otaproof.refimpl import messages as msg


def test_ccs08_outcomes_are_the_refimpl_transfer_outcomes() -> None:
    assert {o.name.lower(): o.value for o in msg.TransferOutcome} == dict(CCS08_OUTCOME.codes)


def test_cs06_outcomes_are_the_refimpl_activation_outcomes_but_activation_failure() -> None:
    refimpl = {o.name.lower(): o.value for o in msg.ActivationOutcome}
    assert refimpl.pop("activation_failure") == 3  # never produced by the model's atomic A/B swap
    assert refimpl == dict(CS06_OUTCOME.codes)


def test_receipt_results_refusals_and_upgrade_end_status_use_the_refimpl_codes() -> None:
    assert FW_DISTRIBUTION_RECEIPT_RESULT.codes == {
        "verification_successful": msg.ALERT_FIRMWARE_VERIFICATION_SUCCESSFUL,
        "verification_failed": msg.ALERT_FIRMWARE_VERIFICATION_FAILED}
    assert DEVICE_REFUSAL.codes == {"authentication_failure": msg.CommandError.AUTHENTICATION_FAILURE,
                                    "counter_failure": msg.CommandError.COUNTER_FAILURE}
    assert UPGRADE_END_STATUS.codes == {"success": msg.ZCL_SUCCESS, "invalid_image": msg.ZCL_INVALID_IMAGE}
