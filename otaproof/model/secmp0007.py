"""The approved SECMP0007 design: OTA firmware updates of PPMIDs and HCALCSs through the DCC.

Machines: Supplier (DCC Users S1, S2), DSP (with the SMI), CPL, Communications Hub (ZigBee OTA
server for PPMIDs, relay for HCALCSs), PPMID and HCALCS devices, Installer, Network (faults) and
Attacker (threats). Service Requests and messages carry their SEC/GBCS/DUIS identifiers (SR 11.4,
CS05c, CCS08, ...); hub and device actions are named after what the hub or device does.

The model is written in parts, one module each: its vocabulary (``vocabulary.py``), its state
and the expressions over it (``state.py``), the DCC's flows (``dcc.py``), the hub's and the
devices' (``han.py``), what lies outside the approved process (``environment.py``) and the
state-space reductions (``reductions.py``). This module assembles them.

Abstractions (each is a documented modelling choice, see docs/model.md):
* firmware images are abstract names; the SHA-256 hash is the image's identity (collision free);
  a manufacturer signature is valid on every image but the attacker-built ``*_rogue`` ones;
* ``*_hwB`` is a genuine, CPL-listable image built for another hardware revision;
* the ZigBee OTA block exchange is one Image Block message; activation is an atomic A/B swap;
* a Service Request and the DSP's synchronous DUIS validation are one joint step.
"""

from __future__ import annotations

from otaproof.model.config import Parameters
from otaproof.model.dcc import declare_dcc
from otaproof.model.environment import declare_environment
from otaproof.model.han import declare_hcalcs, declare_hub, declare_ppmid
from otaproof.model.lang import TRUE, Const, ModelError
from otaproof.model.state import Secmp0007State, SmiRecord
from otaproof.model.system import assign, case
from otaproof.model.vocabulary import ACTION_CATEGORIES

__all__ = ["Secmp0007", "SmiRecord"]


class Secmp0007(Secmp0007State):
    """The approved model, built for a set of parameters, threats and faults. A variant file's
    ``apply(m)`` receives it before it is grounded (``m.b.build``)."""

    def __init__(self, p: Parameters, threats: frozenset[str], faults: frozenset[str]) -> None:
        super().__init__(p, threats, faults)
        declare_dcc(self)
        declare_hub(self)
        for d in self.ppmids:
            declare_ppmid(self, d)
        for d in self.hcalcs:
            declare_hcalcs(self, d)
        declare_environment(self)
        self.b.machine("Clock").action(
            "DAY_tick", lambda: case(TRUE, [assign(v, Const(v.sort, v.init)) for v in self.daily_resets]),
            role="environment", joint=("CH",), doc="midnight: a new day begins (the hub's day starts with it)")
        for name in self.b.action_names():
            category = self.b.action_def(name).category
            if category is not None and category not in ACTION_CATEGORIES:
                raise ModelError(f"action {name} has category {category!r}; known: {', '.join(ACTION_CATEGORIES)}")
