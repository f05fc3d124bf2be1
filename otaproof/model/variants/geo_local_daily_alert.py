"""``geo-local-daily-alert``: the manufacturer's 2019 proposal (b): keep local PPMID firmware
updates alongside OTA; the PPMID reports its firmware version to the hub, which forwards it to
the DCC in a daily alert, and the DSP updates the SMI from it. The alert is a system step that
carries a version the DSP has not been told, at most once between two day ticks.
Source: Green Energy Options' proposal (b), SECMP0007 Working Group meeting summary, August 2019 (SECAS).
"""

from otaproof.model.lang import BOOL, TRUE, Expr, Var, implies
from otaproof.model.secmp0007 import Secmp0007
from otaproof.model.system import Case, assign, case

NAME = "geo-local-daily-alert"
DOC = ("Local PPMID updates alongside OTA; the hub forwards the PPMID firmware version to the DCC in a daily "
       "alert and the DSP updates the SMI.")
SOURCE = "Green Energy Options' proposal (b), SECMP0007 Working Group meeting summary, August 2019 (SECAS)"
PARAMETERS = {"local_updates": True}


def local_updates_for_ppmids_only(m: Secmp0007) -> None:
    """The proposals keep the local port for PPMIDs; HCALCSs stay OTA-only."""
    for d in m.hcalcs:
        m.withdraw(f"LOCAL_installer_update[{d}]")
        m.withdraw(f"LOCAL_attacker_update[{d}]")


def smi_from_version_reads(m: Secmp0007) -> None:
    """The DSP records a PPMID firmware version reported to it (SR 11.2 answer or alert) in the SMI."""
    def receive(d: str) -> Case:
        up = m.wan_up[d]
        ok = up.nonempty() & (up.head("kind") == "CS08_RESPONSE")
        return case(ok, up.receive(), [assign(m.smi[d].DeviceFirmwareVersion, up.head("img"))] if d in m.ppmids else [])
    m.b.replace_action("DSP_receive_CS08_response", receive)


def _alert_lemmas(m: Secmp0007, told: dict[str, Var], sent_today: dict[str, Var]) -> list[tuple[str, str, Expr]]:
    """Candidate invariants of the alert state (Houdini keeps the inductive ones)."""
    out = []
    for d in m.ppmids:
        out += [(f"alerted-not-newer[{d}]", "the hub has alerted no version newer than the PPMID runs",
                 m.version_of(told[d]) <= m.version_of(m.running[d])),
                (f"alerted-runnable[{d}]", "the hub alerts only images the PPMID can run",
                 m.fits(told[d], "PPMID") & m.signed(told[d])),
                (f"alerted-today-was-a-change[{d}]", "today's alert reported a version newer than the first",
                 implies(sent_today[d], m.version_of(told[d]) > m.version_of(m.const_image("PPMID_v1")))),
                (f"alerted-today-is-current[{d}]", "after today's alert the PPMID still runs the alerted version",
                 implies(sent_today[d], told[d] == m.running[d]))]
    return out


def apply(m: Secmp0007) -> None:
    """The hub's daily version alert, and the DSP recording versions reported to it."""
    local_updates_for_ppmids_only(m)
    smi_from_version_reads(m)
    ch = m.b.machine("CH")
    told = {d: ch.var(f"last_alerted_version[{d}]", m.IMAGE, m.IMAGE.decode(m.running[d].init)) for d in m.ppmids}
    m.hub_records += told.values()  # the hub keeps the version it forwards (P-HUB-TRANSIENT)
    sent_today = {d: ch.var(f"daily_alert_sent[{d}]", BOOL, False) for d in m.ppmids}
    m.daily_resets += sent_today.values()  # the day tick lets the next daily alert go
    m.variant_lemmas += _alert_lemmas(m, told, sent_today)

    def alert(d: str) -> Case:
        return case(~sent_today[d] & (told[d] != m.running[d]) & m.wan_up[d].has_room(),
                    assign(told[d], m.running[d]), assign(sent_today[d], True), m.count_unsolicited_alert(d),
                    m.wan_up[d].send(kind="CS08_RESPONSE", img=m.running[d], g_genuine=True))

    ch.action("CH_daily_version_alert", alert, params={"d": m.ppmids},
              doc="daily alert: the hub forwards the PPMID's firmware version to the DCC")
    m.unsolicited_alert_sources["CH_daily_version_alert"] = lambda d: TRUE  # no DCC request asks for it
    for d in m.ppmids:  # the new version is on its way: the alert is due, or in the hub-to-DSP queue
        m.extra_report_stages.setdefault(d, []).extend(
            [told[d] != m.running[d]] + [(m.wan_up[d].length > i) & (slot["kind"] == "CS08_RESPONSE")
                                         & (slot["img"] == m.running[d]) for i, slot in enumerate(m.wan_up[d].slots)])
