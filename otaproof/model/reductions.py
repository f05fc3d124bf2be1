"""State-space reductions of the SECMP0007 model, kept apart from the flows they reduce.

A supplier may submit any Service Request for any device and image. Many of those requests
behave alike: the DSP refuses them at the same check, or they carry an image that plays the same
role as another. The model keeps one request per class; each function here says which, and why
the others add no behaviour. The flows in ``dcc.py`` are written for every request and wrapped
with these filters when their actions are declared.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from otaproof.model.system import Case
from otaproof.model.vocabulary import ImageInfo

ImageRequest = Callable[..., "Case | None"]  # (by, d, img, hash_ok, version_ok[, future]) -> Case
ActivationRequest = Callable[[str, str, str, bool, str], "Case | None"]  # (by, d, img, future, signed_by)


def representative_image_request(catalogue: Mapping[str, ImageInfo], device_model: Mapping[str, str], model: str,
                                 d: str, img: str, hash_ok: bool, version_ok: bool = True,
                                 future: bool = False) -> bool:
    """Keep one SR 11.1 / SR 11.4 submission per distinct DSP outcome class (the others behave
    identically): every image of the device's model, one image of the other model, one bad
    hash, one misstated FirmwareVersion, and one image for an invalid target (an unknown device
    or one of the other model). An SR 11.4 execution date-time in the future (``future``) only
    on requests the DSP can accept (a listable image of the device's model, the right hash and
    version): the DSP refuses the others before the date plays a part."""
    first = f"{model}_v1"
    if device_model.get(d) != model:
        return img == first and hash_ok and version_ok and not future
    if not (hash_ok and version_ok):  # one misstatement at a time: the hash is checked first
        return img == first and (hash_ok or version_ok) and not future
    if future:  # rogue images are never listed
        return catalogue[img].model == model and catalogue[img].signed
    other = "HCALCS" if model == "PPMID" else "PPMID"
    return catalogue[img].model == model or img == f"{other}_v1"


def representative_image_requests(catalogue: Mapping[str, ImageInfo], device_model: Mapping[str, str], model: str,
                                  flow: ImageRequest) -> ImageRequest:
    """``flow`` restricted to the representative submissions (see above)."""
    def body(by: str, d: str, img: str, hash_ok: bool, version_ok: bool, **future: bool) -> Case | None:
        if not representative_image_request(catalogue, device_model, model, d, img, hash_ok, version_ok, **future):
            return None
        return flow(by, d, img, hash_ok, version_ok, **future)
    return body


def activation_image(catalogue: Mapping[str, ImageInfo], img: str) -> bool:
    """SR 11.3 names an HCALCS image: a command naming any other image is refused by the HCALCS
    exactly as one naming an HCALCS image it does not hold (no image held, or hash mismatch)."""
    return catalogue[img].model == "HCALCS"


def activation_requests(catalogue: Mapping[str, ImageInfo], flow: ActivationRequest) -> ActivationRequest:
    """``flow`` (SR 11.3) restricted to HCALCS images (see above)."""
    def body(by: str, d: str, img: str, future: bool, signed_by: str) -> Case | None:
        return flow(by, d, img, future, signed_by) if activation_image(catalogue, img) else None
    return body
