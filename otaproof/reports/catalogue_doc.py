"""docs/properties.md, rendered from the property catalogue so that the page cannot drift from it.

``otaproof properties --markdown`` prints :func:`catalogue_markdown`; a test compares the output
with the committed file. Statements, kinds and rationales come from the catalogue, the working-group
questions from :data:`otaproof.reports.questions.QUESTIONS`; only the designs each property was
written to judge (:data:`DESIGNS`, editorial, never a verdict) and the reference list live here.
"""

from __future__ import annotations

from collections.abc import Sequence

from otaproof.properties.catalogue import CATALOGUE, Property
from otaproof.reports.questions import QUESTIONS, Question

REGENERATE = "otaproof properties --markdown > docs/properties.md"

KINDS: tuple[tuple[str, str], ...] = (
    ("INV", "an invariant over one state: it holds in every reachable state."),
    ("HIST", "an invariant over one step (pre-state, action, post-state), with ghost variables for the history "
             "it needs; a monitor flag records the first step that breaks it."),
    ("BR", "a bounded response `G(trigger → F≤k response)`: once triggered, the response comes within k counted "
           "steps (`--response-bound`) once the environment, the attacker and the network stay quiet (any of their "
           "steps that can affect it restarts the count), and the system never gets stuck while it is owed."),
    ("REACH", "`AG EF target`: from every reachable state some sequence of legitimate steps reaches the target."),
)

# The designs (variants, `otaproof variants`) whose difference from the approved design a property
# was written to judge, and why; ``None``: a property of the update flow itself, about every design.
# Editorial, not a verdict: which design keeps or breaks a property is computed (`otaproof matrix`).
DESIGNS: dict[str, tuple[tuple[str, ...] | None, str]] = {
    "P-CPL": (("pre-secmp0007", "geo-local-hub-stores", "geo-local-daily-alert", "gateway-screening"),
              "a local port bypasses the DSP's CPL check unless the DCC screens it"),
    "P-CPL-NOW": (None, "a CPL entry can be removed between the DSP's check and the activation"),
    "P-AUTH": (None, "a change of supplier can happen while an update is in flight"),
    "P-INTEGRITY": (None, "the image passes the hub and the HAN after the DSP checked its hash"),
    "P-NO-ROLLBACK": (None, "every design activates images; `--no-anti-rollback` switches the device check off"),
    "P-REPLAY": (None, "every design with an HCALCS activates by a signed CS06"),
    "P-COMPAT": (None, "every design can be offered an image for another hardware revision"),
    "P-SMI": (("pre-secmp0007", "geo-local-hub-stores", "geo-local-daily-alert", "gateway-screening"),
              "a local update changes the firmware without the DSP seeing it"),
    "P-SMI-BOUNDED": (("pre-secmp0007", "geo-local-hub-stores", "geo-local-daily-alert", "gateway-screening"),
                      "each design reports a new version to the SMI along a different path, or not at all"),
    "P-INVENTORY": (("pre-secmp0007", "geo-local-hub-stores", "geo-local-daily-alert", "gateway-screening"),
                    "SR 8.2 answers from the SMI, which a local update can leave behind"),
    "P-REPORT-AUTH": (("geo-local-hub-stores", "geo-local-daily-alert"),
                      "both proposals add a path by which a version reaches the SMI"),
    "P-LOCAL-BANNED": (("secmp0007", "pre-secmp0007", "geo-local-hub-stores", "geo-local-daily-alert",
                        "gateway-screening"), "the approved design bans local updates; the others keep a port"),
    "P-HUB-TRANSIENT": (("secmp0007", "geo-local-hub-stores", "geo-local-daily-alert"),
                        "proposal (a) stores the version in the hub, proposal (b) keeps it until the daily alert"),
    "P-ALERT-BUDGET": (("secmp0007", "geo-local-daily-alert"), "proposal (b) adds one alert per device per day"),
    "P-FAIL-VISIBLE": (None, "every OTA design can fail a transfer or a verification"),
    "P-NO-STRAND": (("secmp0007", "gateway-screening", "ihd-in-scope", "pre-secmp0007", "geo-local-hub-stores",
                     "geo-local-daily-alert"), "designs without an installer's port against designs with one"),
    "P-BOOTABLE": (None, "every design activates images and can lose power (`--fault power`)"),
}

REFERENCES: tuple[tuple[str, str], ...] = (
    ("Q1-Q5, stranding", "the SECMP0007 working group's questions, August 2019 (docs/domain.md, \"The design "
                         "questions from the working group\"); `otaproof questions` answers them"),
    ("TUF", "The Update Framework specification, section 1.5.2 \"Goals to protect against specific attacks\": "
            "https://theupdateframework.github.io/specification/latest/"),
    ("Uptane", "Uptane Standard for Design and Implementation: https://uptane.org/docs/latest/standard/uptane-standard"),
    ("SUIT", "RFC 9124, A Manifest Information Model for Firmware Updates in IoT Devices (threats THREAT.*, "
             "requirements REQ.*): https://www.rfc-editor.org/rfc/rfc9124"),
    ("RFC 9019", "A Firmware Update Architecture for Internet of Things: https://www.rfc-editor.org/rfc/rfc9019"),
    ("ETSI EN 303 645", "Cyber Security for Consumer Internet of Things: Baseline Requirements, provision 5.3 "
                        "(keep software updated)"),
    ("IEC 62443-4-2", "Technical security requirements for IACS components, CR 3.4 (software and information "
                      "integrity)"),
    ("PSA", "Arm PSA Certified Firmware Update API (firmware store states)"),
    ("GBCS, CCS08, CS06", "Great Britain Companion Specification, SEC Schedule 8 (docs/domain.md)"),
    ("SECMP0062", "the SEC modification on DCC alert throttling cited by the catalogue; not checked against a "
                  "public source here"),
)


def questions_for(pid: str, questions: Sequence[Question] = QUESTIONS) -> list[Question]:
    """The working-group questions whose answer uses the property."""
    return [q for q in questions if pid in q.properties]


def _designs(pid: str) -> str:
    designs, why = DESIGNS[pid]
    names = "every design" if designs is None else ", ".join(f"`{d}`" for d in designs)
    return f"{names} ({why})"


def _section(p: Property) -> list[str]:
    lines = [f"### {p.id}", "", p.statement, "", f"- **Kind:** {p.kind}",
             f"- **Rationale and sources:** {p.rationale}", f"- **Designs:** {_designs(p.id)}"]
    asked = questions_for(p.id)
    if asked:
        lines.append("- **Working-group question:** " + "; ".join(
            f"{q.id}, \"{q.text}\" (threat models: {', '.join(q.threat_models)})" for q in asked))
    return [*lines, ""]


def catalogue_markdown(catalogue: Sequence[Property] = CATALOGUE) -> str:
    """The whole of docs/properties.md for ``catalogue``: header, kinds, summary table, one section per property."""
    missing = [p.id for p in catalogue if p.id not in DESIGNS]
    if missing:
        raise KeyError(f"no DESIGNS entry in otaproof/reports/catalogue_doc.py for {', '.join(missing)}")
    out = ["# Property catalogue", "",
           f"<!-- Generated from otaproof/properties/catalogue.py by `{REGENERATE}`; do not edit by hand. -->", "",
           "Generated from the property catalogue (`otaproof/properties/catalogue.py`); regenerate with "
           f"`{REGENERATE}`. `tests/reports/test_reports_catalogue_doc.py` fails when this page and the catalogue "
           "disagree. Each property has a stable ID (used by the CLI, in traces, test names and reports), a statement, "
           "a formal kind, the reason it is in the catalogue, and the designs it was written to judge. Verdicts are "
           "never written here: `otaproof check` and `otaproof matrix` compute them.", "",
           "## Kinds", "", "| kind | meaning |", "|---|---|"]
    out += [f"| {k} | {meaning} |" for k, meaning in KINDS]
    out += ["", "How each kind becomes a safety task for the engines: `otaproof/properties/formulas.py` and "
            "docs/model.md.", "", "## Summary", "", "| ID | kind | statement |", "|---|---|---|"]
    out += [f"| [{p.id}](#{p.id.lower()}) | {p.kind} | {p.statement} |" for p in catalogue]
    out += ["", "## Properties", ""]
    for p in catalogue:
        out += _section(p)
    out += ["## References", "", "The rationales name these sources:", ""]
    out += [f"- **{name}**: {text}" for name, text in REFERENCES]
    return "\n".join(out) + "\n"
