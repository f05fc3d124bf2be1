"""Does it change anything if the DSP accepts SR 11.3 only after a successful distribution receipt?

SR 11.1 distributes an HCALCS image; the HCALCS reports its verification in a Firmware
Distribution Receipt Alert (0x8F72 successful, 0x8F1C failed); SR 11.3 then activates it by GBCS
CS06, which the DSP accepts today whatever the receipt said (SECMP0007 modification report).
Hypothetical proposal: the DSP refuses SR 11.3 unless the last receipt from that HCALCS was
"verification successful" for the very image the request names. A refused request changes
nothing, so it is modelled as a request the DSP does not accept.
"""

from otaproof.model.variants.api import Case, Secmp0007, assign, case, otherwise, outcome

NAME = "activation-after-receipt"
DOC = "The DSP accepts SR 11.3 only for the image of the HCALCS's last verification-successful distribution receipt."
SOURCE = "Hypothetical proposal; SR 11.1 / SR 11.3 and the receipt alert codes as in GBCS and DUIS"


def apply(m: Secmp0007) -> None:
    dsp = m.b.machine("DSP")
    verified = {d: dsp.var(f"verified_image[{d}]", m.IMAGE, "none") for d in m.hcalcs}

    def receipt(d: str) -> Case:
        up = m.wan_up[d]
        return case(up.nonempty() & (up.head("kind") == "FW_DISTRIBUTION_RECEIPT"),
                    outcome("verification_successful", up.head("outcome") == "verification_successful",
                            up.receive(), assign(verified[d], up.head("img"))),
                    otherwise("verification_failed", up.receive(), assign(verified[d], "none")))

    m.b.replace_action("DSP_receive_distribution_receipt", receipt)
    m.b.strengthen_guard("SR11_3_activate_firmware", lambda by, d, img, future, signed_by: verified[d] == img)
