"""What does a hub that retries a failed transfer once do to P-HUB-TRANSIENT and P-FAIL-VISIBLE?

In the approved design a stalled ZigBee OTA exchange ends with the hub dropping the image and
raising CCS08 outcome 3 File Transfer Failure (GBCS CCS08). Hypothetical proposal: the hub keeps
the image for one more Image Notify after a stalled transfer, and raises CCS08 only if that
retry stalls too. The hub forgets the retry once it holds no image, before it takes the next.
"""

from otaproof.model.variants.api import BOOL, Case, Secmp0007, assign, case, otherwise, outcome

NAME = "hub-retries-once"
DOC = "After a stalled transfer the hub keeps the image for one more Image Notify before raising CCS08 outcome 3."
SOURCE = "Hypothetical proposal; the failure report it delays is GBCS CCS08 (SECMP0007 modification report)"


def apply(m: Secmp0007) -> None:
    ch = m.b.machine("CH")
    retried = {d: ch.var(f"retried[{d}]", BOOL, False) for d in m.ppmids}

    def timeout(d: str) -> Case:
        image, down, wan = m.ota_image[d], m.han_down[d], m.wan_up[d]
        return case((image != "none") & ~down.nonempty() & ~m.han_up[d].nonempty() & wan.has_room(),
                    outcome("retry", ~retried[d], assign(retried[d], True), down.send(kind="IMAGE_NOTIFY")),
                    otherwise("file_transfer_failure", assign(image, "none"), assign(retried[d], False),
                              wan.send(kind="CCS08", img=image, outcome="file_transfer_failure", g_genuine=True)))

    def forget(d: str) -> Case:
        return case(retried[d] & (m.ota_image[d] == "none"), assign(retried[d], False))

    m.b.replace_action("CH_transfer_timeout", timeout)
    ch.action("CH_forget_retry", forget, params={"d": m.ppmids}, doc="the transfer is over: the next one may retry")
    m.b.strengthen_guard("CH_receive_CS05c", lambda d: ~retried[d] | (m.ota_image[d] != "none"))
