"""Rendering notices from Jinja2 templates: notifications/templates/<name>.<lang>.j2, Chinese first
(an English file is optional; without one the Chinese text is sent)."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, TemplateError, TemplateNotFound

TEMPLATES = Path(__file__).parent / "templates"


class RenderError(Exception):
    """A template is missing or broken; the message names the file and line."""


class Renderer:
    def __init__(self, directory: Path = TEMPLATES) -> None:
        self.directory = directory
        # StrictUndefined: a missing value is an error to record, not an empty hole in a legal notice.
        self.env = Environment(
            loader=FileSystemLoader(str(directory)),
            undefined=StrictUndefined,
            autoescape=False,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=False,
        )

    def render(self, name: str, lang: str, context: dict[str, Any]) -> str:
        for candidate in (f"{name}.{lang}.j2", f"{name}.zh.j2"):
            try:
                template = self.env.get_template(candidate)
            except TemplateNotFound:
                continue
            except TemplateError as err:
                raise RenderError(f"{candidate}:{getattr(err, 'lineno', '?')}: {err}") from err
            try:
                return template.render(**context).strip()
            except TemplateError as err:
                raise RenderError(f"{candidate}: {err}") from err
        raise RenderError(f"no template {name}.zh.j2 in {self.directory}")

    def check_all(self) -> None:
        """Compile every template at start-up: a broken file is refused with its name and line."""
        for path in sorted(self.directory.glob("*.j2")):
            try:
                self.env.get_template(path.name)
            except TemplateError as err:
                raise RenderError(f"{path.name}:{getattr(err, 'lineno', '?')}: {err}") from err


@cache
def default_renderer() -> Renderer:
    return Renderer()
