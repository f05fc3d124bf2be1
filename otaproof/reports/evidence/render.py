"""The report as ``index.html`` (one self-contained page: CSS inlined, charts as inline SVG, no
script, no request) and as ``report.md`` (GitHub-flavoured Markdown, charts as Mermaid), both
from the package's Jinja2 templates and the same view."""

from __future__ import annotations

from importlib import resources
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

PACKAGE = "otaproof.reports.evidence"


def _environment(html: bool) -> Environment:
    env = Environment(loader=PackageLoader(PACKAGE, "templates"), undefined=StrictUndefined,
                      autoescape=select_autoescape(["html.j2"]) if html else False,
                      keep_trailing_newline=True, trim_blocks=False, lstrip_blocks=False)
    env.filters["cell"] = lambda text: str(text).replace("|", "\\|").replace("\n", " ")
    return env


def inline_svg(svg: bytes | str) -> str:
    """An SVG file's ``<svg>`` element (its XML prolog and DOCTYPE dropped) for inlining."""
    text = svg.decode("utf-8") if isinstance(svg, bytes) else svg
    return text[text.find("<svg"):] if "<svg" in text else ""


def render_html(context: dict[str, Any]) -> str:
    css = resources.files(PACKAGE).joinpath("templates/report.css").read_text(encoding="utf-8")
    return _environment(True).get_template("report.html.j2").render(css=css, **context)


def render_markdown(context: dict[str, Any]) -> str:
    text = _environment(False).get_template("report.md.j2").render(**context)
    while "\n\n\n" in text:
        text = text.replace("\n\n\n", "\n\n")
    return text
