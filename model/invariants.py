"""Auxiliary invariants of the SECMP0007 model: the facts that explain *why* a property holds.

Each is a candidate, never an assumption: the engines keep only the largest subset that Z3
proves inductive (Houdini), use it to strengthen PDR and k-induction, and put it into the
certificate that the checker re-checks. A candidate that a variant or threat breaks is simply
dropped, so a wrong or stale lemma can cost speed, never soundness. They are written in the
public modelling language, one per fact, so an analyst can read the argument in domain terms.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

from model.lang import Expr, any_of, implies
from model.secmp0007 import Secmp0007
from model.system import Channel


@dataclass(frozen=True)
class Lemma:
    name: str
    statement: str
    expr: Expr


def _messages(ch: Channel, kinds: tuple[str, ...]) -> Iterator[tuple[Expr, dict]]:  # type: ignore[type-arg]
    """(``slot i holds a message of one of these kinds``, the slot's fields) for every slot."""
    for i, slot in enumerate(ch.slots):
        present = (ch.length > i) & any_of(slot["kind"] == k for k in kinds if k in slot["kind"].sort.values)
        yield present, slot


IMAGE_MESSAGES = {"wan_down": ("CS05c", "FW_DISTRIBUTE"), "han_down": ("IMAGE_BLOCK", "FW_IMAGE")}


def secmp0007_lemmas(m: Secmp0007) -> list[Lemma]:
    """The candidate auxiliary invariants of a grounded SECMP0007 model (any parameters)."""
    out: list[Lemma] = []

    def add(name: str, statement: str, expr: Expr) -> None:
        out.append(Lemma(name, statement, expr))

    for img, flag in m.cpl_listed.items():
        add(f"listed-was-listed[{img}]", "an image listed on the CPL now has been listed (ghost history)",
            implies(flag, m.cpl_ever[img]))
    for d in m.devices:
        add(f"held-certified[{d}]", "an image a device holds was on the CPL when the DSP accepted it",
            implies(m.held[d] != "none", m.ever_on_cpl(m.held[d])))
        add(f"held-validated[{d}]", "an image a device holds is the one the DSP validated for its request",
            implies(m.held[d] != "none", m.g_held_req[d] == m.held[d]))
        add(f"running-certified[{d}]", "a device runs an image that has been on the CPL",
            m.ever_on_cpl(m.running[d]))
        for side in ("wan_down", "han_down"):
            ch = getattr(m, side)[d]
            for n, (present, slot) in enumerate(_messages(ch, IMAGE_MESSAGES[side])):
                add(f"{ch.name}[{n}]-certified", "an image in flight was on the CPL when the DSP accepted it",
                    implies(present, m.ever_on_cpl(slot["img"])))
                add(f"{ch.name}[{n}]-validated", "an image in flight is the one the DSP validated",
                    implies(present, slot["g_req"] == slot["img"]))
    for d in m.ppmids:
        add(f"hub-image-certified[{d}]", "the image the hub holds for a PPMID was on the CPL when accepted",
            implies(m.ch_image[d] != "none", m.ever_on_cpl(m.ch_image[d])))
        add(f"hub-image-validated[{d}]", "the image the hub holds is the one the DSP validated",
            implies(m.ch_image[d] != "none", m.ch_g_req[d] == m.ch_image[d]))
    return out
