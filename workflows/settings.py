"""Deployment settings (environment variables or a .env file), via pydantic-settings."""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

from pydantic_settings import BaseSettings, SettingsConfigDict

from models.db import DEFAULT_DATABASE_URL, DEFAULT_POOL_SIZE


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    database_url: str = DEFAULT_DATABASE_URL
    # PostgreSQL connections each process keeps open (models/db.py says why 20, and what bounds it).
    database_pool_size: int = DEFAULT_POOL_SIZE
    telegram_bot_token: str | None = None
    telegram_api_base: str = "https://api.telegram.org"
    bot_framework: Literal["aiogram", "ptb"] = "aiogram"
    # Webhook mode (`credit-bot run --webhook`, issue #10): Telegram posts updates to WEBHOOK_URL, which a
    # load balancer forwards to WEBHOOK_LISTEN on each instance; requests without WEBHOOK_SECRET are refused.
    webhook_url: str | None = None
    webhook_secret: str | None = None
    webhook_listen: str = "127.0.0.1:8080"
    # Polling mode serves /healthz and /metrics here when set (webhook mode serves them on WEBHOOK_LISTEN).
    metrics_listen: str | None = None
    log_format: Literal["text", "json"] = "text"
    # One send budget for everything sent with the bot token (issue #10). "memory": this process only (the
    # embedded default, one `credit-bot run`); "redis://host:port/db": shared by every process of the
    # deployment (several `run` or `deliver` processes, webhook instances).
    send_budget: str = "memory"
    # Telegram's broadcast limits (Bot FAQ; notifications/limits.py names the source). Settings so that a
    # benchmark against a local server without limits can lift them; production keeps the defaults.
    telegram_per_second: float = 30
    telegram_per_chat_per_second: float = 1
    telegram_per_group_per_minute: int = 20
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
