"""MkDocs hooks: the program reference generated from the JSON Schema, and the adapters nav.

The reference pages are built from :func:`loyaltykit.rules.program.json_schema` (and the
scenario file schema) on every build, so the documentation cannot disagree with the models
that validate program files. Adapter pages are written by each adapter's authors; the nav
lists whichever ``docs/adapters/*.md`` exist, so adding an adapter page needs no edit here.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.structure.files import File, Files
from mkdocs.structure.pages import Page

from loyaltykit.rules import loader
from loyaltykit.rules.program import json_schema
from loyaltykit.rules.scenarios import scenario_file_schema
from loyaltykit.testing import scenario_files

CODES_MARKER = "<!-- diagnostic-codes -->"

PAGES = {
    "reference/program.md": (
        json_schema, "Program", {"Scenario": "scenarios.md#scenario"}, "Program reference",
        "Every field of a program file, generated from the models that validate it. The same "
        "schema is published as [`schema/program.schema.json`](../schema/program.schema.json) "
        "for editors."),
    "reference/scenarios.md": (
        scenario_file_schema, "ScenarioFile", {}, "Scenario file reference",
        "Every field of a `*.loyalty-test.yaml` file and of a program's inline `tests:` "
        "(a list of [Scenario](#scenario)), generated from the models that validate them. "
        "Editors can use [`schema/scenarios.schema.json`](../schema/scenarios.schema.json)."),
}


def on_config(config: MkDocsConfig) -> MkDocsConfig:
    adapters = sorted(Path(config.docs_dir, "adapters").glob("*.md"))
    for section in config.nav or []:
        if isinstance(section, dict) and "Adapters" in section:
            section["Adapters"] = list(section["Adapters"]) + [
                f"adapters/{page.name}" for page in adapters]
    return config


def on_page_markdown(markdown: str, page: Page, config: MkDocsConfig, files: Files) -> str:
    if CODES_MARKER in markdown:
        markdown = markdown.replace(CODES_MARKER, diagnostic_codes())
    return markdown


def on_files(files: Files, config: MkDocsConfig) -> Files:
    for uri, (schema, root, elsewhere, title, intro) in PAGES.items():
        content = Reference(schema(), elsewhere).page(root, title, intro)
        files.append(File.generated(config, uri, content=content))
    return files


# --------------------------------------------------------------------------- rendering


class Reference:
    """Markdown tables of a JSON Schema's models; ``elsewhere`` maps models documented on
    another page to their link, so they are linked rather than repeated."""

    def __init__(self, schema: dict[str, Any], elsewhere: dict[str, str]) -> None:
        self.schema = schema
        self.defs: dict[str, Any] = schema.get("$defs", {})
        self.elsewhere = elsewhere

    def page(self, root: str, title: str, intro: str) -> str:
        models = [(root, self.schema)] + [(name, self.defs[name]) for name in self.reachable()]
        parts = [f"# {title}\n", f"{intro}\n"]
        parts += [self.section(name, model) for name, model in models if "properties" in model]
        return "\n".join(parts)

    def reachable(self) -> list[str]:
        """Model names in the order a reader meets them, walking fields top-down."""
        seen: list[str] = []
        queue = [self.schema]
        while queue:
            fields = json.dumps(queue.pop(0).get("properties", {}))
            for ref in re.findall(r'"#/\$defs/([A-Za-z0-9_]+)"', fields):
                if ref not in seen and ref not in self.elsewhere:
                    seen.append(ref)
                    queue.append(self.defs[ref])
        return seen

    def section(self, name: str, model: dict[str, Any]) -> str:
        lines = [f"## {name} {{#{name.lower()}}}\n"]
        if model.get("description"):
            lines.append(_md(model["description"]) + "\n")
        tag = model["properties"].get("type", {}).get("const")
        if tag:
            lines.append(f"Written as `type: {tag}`.\n")
        lines += ["| Field | Type | Default | Description |", "|---|---|---|---|"]
        required = set(model.get("required", []))
        for field, prop in model["properties"].items():
            default = "**required**" if field in required else _default(prop.get("default"))
            description = _md(prop.get("description", "")).replace("\n", " ")
            lines.append(f"| `{field}` | {self.type(prop)} | {default} | {_cell(description)} |")
        return "\n".join(lines) + "\n"

    def type(self, prop: dict[str, Any]) -> str:
        if "$ref" in prop:
            name = prop["$ref"].rsplit("/", 1)[-1]
            if "properties" not in self.defs[name]:  # an enum such as Rounding
                return self.type(self.defs[name])
            return f"[{name}]({self.elsewhere.get(name, '#' + name.lower())})"
        if "const" in prop:
            return f"`{prop['const']}`"
        if "enum" in prop:
            return "one of " + ", ".join(f"`{value}`" for value in prop["enum"])
        if "oneOf" in prop:
            return " or ".join(self.type(option) for option in prop["oneOf"])
        if "anyOf" in prop:
            options = [o for o in prop["anyOf"] if o.get("type") != "null"]
            if {o.get("type") for o in options} == {"number", "string"}:
                return "decimal" + _bounds(options[0])
            return " or ".join(self.type(option) for option in options)
        return self._plain(prop)

    def _plain(self, prop: dict[str, Any]) -> str:
        kind = prop.get("type")
        if kind == "array":
            return "list of " + self.type(prop.get("items", {})) + _bounds(prop)
        if kind == "object":
            return "mapping of text to " + self.type(prop.get("additionalProperties") or {})
        if kind == "string" and prop.get("format") in ("date", "date-time"):
            return {"date": "date", "date-time": "date-time with UTC offset"}[prop["format"]]
        names = {"string": "text", "integer": "whole number", "number": "number",
                 "boolean": "true or false"}
        return names.get(str(kind), "any value") + _bounds(prop)


def _bounds(prop: dict[str, Any]) -> str:
    marks = {"minimum": "≥", "exclusiveMinimum": ">", "maximum": "≤", "exclusiveMaximum": "<"}
    found = [f"{sign} {_number(prop[key])}" for key, sign in marks.items() if key in prop]
    if "minItems" in prop:
        found.append(f"at least {prop['minItems']}")
    if "maxLength" in prop:
        found.append(f"at most {prop['maxLength']} characters")
    if "pattern" in prop:
        found.append(f"pattern `{prop['pattern']}`")
    return f" ({', '.join(found)})" if found else ""


def _number(value: float | int) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _default(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, dict):
        return "see type"
    return f"`{json.dumps(value, ensure_ascii=False)}`"


def _md(text: str) -> str:
    """Docstrings are written with reStructuredText literals; Markdown wants one backtick."""
    return text.replace("``", "`")


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def diagnostic_codes() -> str:
    """The code tables of the modules that emit diagnostics, read from their docstrings."""
    rows = ["| Code | Severity | Meaning |", "|---|---|---|"]
    for module in (loader, scenario_files):
        for line in (module.__doc__ or "").splitlines():
            match = re.match(r"^(LK\d{3})\s+(?:(error|warning)\s+)?(.+)$", line)
            if match:
                code, severity, meaning = match.groups()
                rows.append(f"| `{code}` | {severity or 'error'} | {_cell(_md(meaning))} |")
    return "\n".join(rows)
