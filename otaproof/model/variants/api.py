"""The public API of a variant file: what ``apply(m)`` may import, and the handles of ``m``.

A variant file imports only from this module, and uses only the handles of ``m`` listed in
``HANDLES`` (docs/variants.md renders them): these keep their names and meaning across versions.
Anything else in the package may change without notice. A name ``m`` does not have is reported
with the file and line ("unknown handle", with the closest handle).
"""

from __future__ import annotations

from otaproof.model.lang import (
    BOOL,
    FALSE,
    TRUE,
    EnumSort,
    Expr,
    IntSort,
    ModelError,
    Var,
    all_of,
    any_of,
    const,
    implies,
    ite,
    select,
)
from otaproof.model.secmp0007 import Secmp0007, SmiRecord
from otaproof.model.system import Case, Channel, Machine, assign, case, otherwise, outcome
from otaproof.model.vocabulary import SUPPLIERS

__all__ = ["BOOL", "BUILDER", "CHANNEL", "FALSE", "HANDLES", "SUPPLIERS", "TRUE", "Case", "Channel", "EnumSort",
           "Expr", "IntSort", "Machine", "ModelError", "Secmp0007", "SmiRecord", "Var", "all_of", "any_of",
           "assign", "case", "const", "implies", "ite", "otherwise", "outcome", "select"]

# m.<name>: what it is, by group (``docs/variants.md`` shows this table)
HANDLES: dict[str, dict[str, str]] = {
    "building": {
        "b": "the system builder: `m.b.machine(name)`, `m.b.replace_action`, `m.b.strengthen_guard`, "
             "`m.b.action_names()` (see the builder table)",
        "withdraw": "`m.withdraw(action)`: the design lacks this step (it stays declared, without instances)",
        "p": "the model parameters (`m.p.ppmids`, `m.p.versions`, `m.p.capacity`, `m.p.counter_max`, "
             "`m.p.anti_rollback`, `m.p.local_updates`, `m.p.response_bound`, `m.p.alert_budget`)",
        "threats": "the scenario's threat models (a frozenset of names)",
        "faults": "the scenario's fault models (a frozenset of names)",
    },
    "parties and sorts": {
        "ppmids": "the PPMID device names (`P1`, ...)",
        "hcalcs": "the HCALCS device names (`H1`, ...)",
        "devices": "every device name, PPMIDs first",
        "catalogue": "every abstract image name with its attributes (`model`, `version`, `hw_ok`, `signed`)",
        "IMAGE": "the sort of image values (`none` and every catalogue image)",
        "DEVICE": "the sort of device values (every device and `unknown`)",
        "SUPPLIER": "the sort of supplier values (`S1`, `S2`)",
        "AUTHORISER": "the sort of ghost authoriser values (`none`, `S1`, `S2`)",
        "COUNTER": "the sort of originator counters (`0..counter_max`)",
        "FIRMWARE_STATUS": "the sort of the SMI status (`current`, `update_in_progress`, `failed`)",
    },
    "state (a variable per device or image; trace name in brackets)": {
        "listed": "`m.listed[img]`: the image is on the CPL [`CPL.listed[img]`]",
        "ever_listed": "ghost: the image has been on the CPL [`CPL.ever_listed[img]`]",
        "registered_supplier": "the supplier registered for the premises [`DSP.registered_supplier`]",
        "smi": "`m.smi[d].DeviceFirmwareVersion`, `m.smi[d].DeviceFirmwareVersionStatus` [`DSP.SMI[d]...`]",
        "CS02b_due": "a CS02b is owed to the device after a change of supplier [`DSP.CS02b_due[d]`]",
        "originator_counter": "`m.originator_counter[s]`: supplier s's last originator counter",
        "unsolicited_alerts_today": "ghost: alerts about the device no DCC request asked for, today",
        "ota_image": "the image the hub holds for a PPMID's OTA transfer [`CH.ota_image[d]`]",
        "ota_image_validated": "ghost: the image the DSP validated for that transfer",
        "ota_image_authoriser": "ghost: who authorised that transfer",
        "running": "the image the device runs [`PPMID.P1.running`]",
        "held": "the image the device holds, verified, for activation [`PPMID.P1.held`]",
        "supplier_anchor": "the supplier trust anchor the device checks commands against",
        "held_validated": "ghost: the image the DSP validated for the held one",
        "held_authoriser": "ghost: who authorised the held image",
        "activation_authoriser": "ghost: who authorised the running image's activation (P-AUTH)",
        "activation_validated": "ghost: the image the DSP validated for that activation (P-INTEGRITY)",
        "last_counter": "`m.last_counter[h]`: the HCALCS's last accepted originator counter",
        "max_accepted_counter": "ghost: `m.max_accepted_counter[h, s]`, per HCALCS and originator (P-REPLAY)",
        "scheduled": "the HCALCS has a future-dated CS06 scheduled",
        "scheduled_image": "the image that CS06 activates",
        "scheduled_authoriser": "ghost: who authorised that CS06",
        "han_attacker": "the HAN attacker's recorded CS06 per HCALCS (None unless `han_mitm`)",
    },
    "links (bounded FIFO channels, one per device and direction; see the channel table)": {
        "wan_down": "`m.wan_down[d]`: DSP to hub (CS05c, FW_DISTRIBUTION, CS06, CS08_READ, CS02b)",
        "wan_up": "`m.wan_up[d]`: hub to DSP (CCS08, CS09, FW_DISTRIBUTION_RECEIPT, CS06_RESPONSE, CS08_RESPONSE)",
        "han_down": "`m.han_down[d]`: hub to device (IMAGE_NOTIFY, IMAGE_BLOCK, UPGRADE_END_RESPONSE and the "
                    "relayed commands)",
        "han_up": "`m.han_up[d]`: device to hub (QUERY_NEXT_IMAGE, UPGRADE_END and the device's reports)",
    },
    "expressions over an image expression `e`": {
        "const_image": "`m.const_image(name)`: the image as a constant",
        "on_cpl": "`m.on_cpl(e)`: listed on the CPL now",
        "ever_on_cpl": "`m.ever_on_cpl(e)`: ghost, listed at some time",
        "version_of": "`m.version_of(e)`: its version (0 for none)",
        "signed": "`m.signed(e)`: it carries a valid manufacturer signature",
        "fits": "`m.fits(e, model)`: built for this device model and hardware revision",
        "for_model": "`m.for_model(e, model)`: built for this device model (any hardware revision)",
        "model_of": "`m.model_of(d)`: `PPMID` or `HCALCS`",
        "signer": "`m.signer(by)`: whose key signs a request by `by` (the attacker uses S1's)",
        "unsolicited_report": "`m.unsolicited_report(d)`: the hub is relaying an activation report no request "
                              "awaits",
    },
    "effects (lists of assignments to put in a branch)": {
        "activate": "`m.activate(d, image, authoriser, validated)`: the device starts running the image "
                    "(with the ghosts P-AUTH and P-INTEGRITY read)",
        "count_unsolicited_alert": "`m.count_unsolicited_alert(d, when)`: ghost count for P-ALERT-BUDGET",
    },
    "extension points (a variant adds to them; properties read them)": {
        "hub_records": "firmware records the hub keeps (P-HUB-TRANSIENT: it must keep none)",
        "daily_resets": "variables the day tick (`DAY_tick`) sets back to their initial value",
        "extra_report_stages": "`m.extra_report_stages[d]`: where a new version can be on its way to the SMI "
                               "(P-SMI-BOUNDED's progress lemmas)",
        "unsolicited_alert_sources": "`{action: condition(d)}`: system actions that raise alerts no request "
                                     "asked for (P-ALERT-BUDGET)",
        "variant_lemmas": "candidate lemmas `(name, statement, expression)` about the variant's own state "
                          "(hints, never assumptions: Houdini keeps the inductive ones)",
        "supports_firmware": "`{supplier: bool}`: who supports this firmware (P-NO-STRAND)",
    },
}

# m.b.<name> (a SystemBuilder) and the Machine it hands out
BUILDER: dict[str, str] = {
    "machine": "`m.b.machine(name)`: the Machine `CPL`, `Supplier`, `DSP`, `CH`, `PPMID`, `HCALCS`, `Network`, "
               "`Attacker` or `Clock`",
    "Machine.var": "`machine.var(name, sort, init, ghost=False)`: a new variable of that machine",
    "Machine.action": "`machine.action(name, body, role='system', params={...}, threat=None, fault=None, doc='', "
                      "joint=(), category=None)`: a new action; `body(**params)` returns `case(...)` or None",
    "replace_action": "`m.b.replace_action(name, body)`: a declared action gets a new body",
    "strengthen_guard": "`m.b.strengthen_guard(name, extra)`: `extra(**params)`, a bool expression, is "
                        "conjoined to the action's guard",
    "action_names": "`m.b.action_names()`: every declared action, in order",
}

# Channel methods (m.wan_down[d] and the other links)
CHANNEL: dict[str, str] = {
    "head": "`ch.head(field)`: a field of the oldest message (`kind`, `img`, `outcome`, `originator`, ...)",
    "nonempty": "`ch.nonempty()`: a message is waiting",
    "has_room": "`ch.has_room()`: a send is possible (a full channel blocks its sender)",
    "send": "`ch.send(kind=..., img=..., ...)`: append a message (needs `has_room()` in the guard)",
    "receive": "`ch.receive()`: remove the oldest message (needs `nonempty()` in the guard)",
    "fields": "`ch.fields`: the message fields and their sorts",
}
