"""Templates: every shipped template compiles; a broken one is refused at start-up with file and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from notifications.render import Renderer, RenderError


def test_every_shipped_template_compiles() -> None:
    Renderer().check_all()


def test_a_broken_template_is_refused_with_its_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "fine.zh.j2").write_text("你好 {{ name }}\n", encoding="utf-8")
    (tmp_path / "broken.zh.j2").write_text("第一行\n第二行 {% if %}\n", encoding="utf-8")
    with pytest.raises(RenderError, match=r"broken\.zh\.j2:2"):
        Renderer(tmp_path).check_all()


def test_english_falls_back_to_chinese_and_missing_values_are_errors(tmp_path: Path) -> None:
    (tmp_path / "hello.zh.j2").write_text("你好 {{ name }}", encoding="utf-8")
    r = Renderer(tmp_path)
    assert r.render("hello", "en", {"name": "甲"}) == "你好 甲"
    with pytest.raises(RenderError, match="name"):
        r.render("hello", "zh", {})


def test_the_app_refuses_to_start_with_a_broken_template(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import asyncio

    from bot import app as app_module
    from workflows.settings import Settings

    (tmp_path / "broken.zh.j2").write_text("{% for %}", encoding="utf-8")
    monkeypatch.setattr(app_module, "default_renderer", lambda: Renderer(tmp_path))
    settings = Settings(database_url=f"sqlite:///{tmp_path}/x.db", _env_file=None)  # type: ignore[call-arg]
    with pytest.raises(RenderError, match=r"broken\.zh\.j2:1"):
        asyncio.run(app_module.build_app(settings))
