"""Deployment settings (environment variables or a .env file), via pydantic-settings."""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

from pydantic_settings import BaseSettings, SettingsConfigDict

from models.db import DEFAULT_DATABASE_URL


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    database_url: str = DEFAULT_DATABASE_URL
    telegram_bot_token: str | None = None
    telegram_api_base: str = "https://api.telegram.org"
    bot_framework: Literal["aiogram", "ptb"] = "aiogram"
    webhook_url: str | None = None
    region_code: str = "370400"  # 行政区划 of the deploying bureau (commitment codes); demo: 枣庄
    bot_username: str = "credit_transport_bot"  # for deep links t.me/<name>?start=<code>
    # A notice claimed by a dispatcher that died is sent again after this many seconds (at most the
    # messages in flight repeat; none is lost).
    outbox_lease_seconds: int = 300
    # The 处罚机关 / 认定单位 named on records and notices: the bureau, unless a department is an authority
    # of its own (AUTHORITIES='{"执法支队": "枣庄市交通运输综合行政执法支队"}'). Staff sections are not.
    bureau_name: str = "枣庄市交通运输局"
    authorities: dict[str, str] = {}

    def authority_for(self, department: str | None) -> str:
        return self.authorities.get(department or "", self.bureau_name)


@lru_cache
def get_settings() -> Settings:
    return Settings()
