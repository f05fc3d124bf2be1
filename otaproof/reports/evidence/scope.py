"""Scope and assumptions of the evidence, and the glossary: what the model abstracts (read from
docs/model.md's abstraction table, or from the model's own docstring when the documentation is
not installed), the threat and fault models with their sources, and the words a reader needs."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from otaproof.model import secmp0007
from otaproof.model.config import FAULTS, THREATS

MODEL_DOC = Path(__file__).resolve().parents[3] / "docs" / "model.md"

THREAT_SOURCES = {
    "local_physical": "the 2019 proposal to keep local updates (SECMP0007 working group); SUIT (RFC 9124) "
                      "threats of local access",
    "han_mitm": "ZigBee HAN attacker: TUF and Uptane man-in-the-middle; SUIT THREAT.IMG.REPLACE",
    "compromised_key": "Uptane: compromised signing key; GBCS critical commands signed by the supplier",
    "old_supplier": "GBCS change of supplier (CS02b replaces the supplier's trust anchor); Uptane key revocation",
}
FAULT_SOURCE = "GBCS/SMETS2 communications: messages lost, delayed, duplicated or reordered; loss of power"

OUT_OF_SCOPE = (
    "breaking the cryptography: SHA-256 collisions and forged manufacturer or supplier signatures",
    "ESME and GSME firmware updates (only PPMIDs and HCALCSs, and the IHD as a variant)",
    "time within a day: the model is untimed between two day ticks; alert rates are the storm analysis",
    "fleets: the model has one Communications Hub with its devices (parameters set how many)",
    "implementation defects of real devices, hubs and DCC systems (the reference implementation is tested "
    "against the model, not proved)",
)

GLOSSARY = (
    ("INV", "an invariant: a condition that holds in every reachable state (e.g. P-COMPAT)"),
    ("HIST", "a condition on every step, using recorded history (e.g. 'the image was listed on the CPL at "
             "some time'): it must hold whenever a step happens (e.g. P-CPL)"),
    ("BR", "bounded response: after a trigger, the response comes within k counted steps once the attacker, "
           "the network and the environment stay quiet (e.g. P-SMI-BOUNDED)"),
    ("REACH", "recoverability: from every reachable state some sequence of legitimate steps reaches the "
              "target (e.g. P-NO-STRAND)"),
    ("proved", "Z3 found a proof, and a fresh Z3 process confirmed every obligation of its certificate on the "
               "full model (the Proofs section lists any proof not independently re-checked)"),
    ("violated", "a counterexample: a sequence of steps of the model, replayed step by step, that ends where "
                 "the property fails"),
    ("unknown", "undecided within the time budget; never counted as holding"),
    ("certificate", "what a proof leaves behind: an inductive invariant (every initial state has it, every "
                    "step keeps it, no state with it violates the property); its three obligations are SMT-LIB "
                    "files anyone can re-check with a solver of their choice"),
    ("threat model", "which attacker capabilities are switched on"),
    ("fault model", "which network and power faults are switched on"),
    ("SR", "DUIS Service Request, e.g. SR 11.4 Update PPMID Firmware, SR 8.2 Read Inventory"),
    ("CS05c, CS06, CS08, CS09, CCS08", "GBCS use cases: distribute firmware to a PPMID, activate firmware, read "
                                       "firmware version, PPMID firmware activation alert, firmware transfer alert"),
    ("CPL", "Certified Products List: device models, firmware versions and hashes that may be installed"),
    ("SMI", "Smart Metering Inventory kept by the DCC: among others, each device's firmware version"),
    ("DSP", "the DCC's Data Service Provider: validates Service Requests, keeps the SMI"),
    ("CH", "Communications Hub: the premises gateway and ZigBee OTA server for the PPMID"),
    ("PPMID, HCALCS", "pre-payment meter interface device; HAN-connected auxiliary load control switch"),
)


@dataclass(frozen=True)
class Scope:
    abstractions: list[tuple[str, str, str]]  # (real thing, in the model, why)
    abstractions_source: str
    threats: list[tuple[str, str, str, bool]]  # (name, capability, source, checked in this pack)
    faults: list[tuple[str, str, bool]]        # (name, fault, switched on in this pack)
    fault_source: str
    out_of_scope: tuple[str, ...]


def _cells(line: str) -> list[str]:
    return [c.strip().replace("`", "") for c in line.strip().strip("|").split("|")]


def abstractions() -> tuple[list[tuple[str, str, str]], str]:
    """The abstraction table of docs/model.md, or the model docstring's list when docs are absent."""
    if MODEL_DOC.is_file():
        text = MODEL_DOC.read_text(encoding="utf-8")
        section = text.split("## Abstractions", 1)[-1].split("\n## ", 1)[0]
        rows = [_cells(line) for line in section.splitlines() if line.startswith("|")][2:]
        table = [(r[0], r[1], r[2]) for r in rows if len(r) >= 3]
        if table:
            return table, "docs/model.md"
    doc = secmp0007.__doc__ or ""
    items = re.findall(r"^\* (.+?)(?=^\* |\Z)", doc.split("Abstractions", 1)[-1], re.M | re.S)
    return [(" ".join(i.split()), "", "") for i in items], "otaproof/model/secmp0007.py"


def scope(threat_models: list[str], faults: list[str]) -> Scope:
    table, source = abstractions()
    used = sorted({t for m in threat_models for t in m.split("+") if t != "none"})
    threats = [(t, THREATS[t], THREAT_SOURCES.get(t, ""), t in used) for t in THREATS]
    return Scope(table, source, threats, [(f, FAULTS[f], f in faults) for f in FAULTS], FAULT_SOURCE, OUT_OF_SCOPE)
