"""Group robots of 企业微信, 钉钉 and 飞书 (issue #11): one-way alert channels for a department, configured by
the whole webhook URL the platform shows, so nothing about a platform's address is hard-wired."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from models.base import enum_field, json_field, utcnow


class RobotKind(StrEnum):
    WECOM = "wecom"  # 企业微信 群机器人
    DINGTALK = "dingtalk"  # 钉钉 自定义机器人
    FEISHU = "feishu"  # 飞书 自定义机器人


class Robot(SQLModel, table=True):
    __tablename__ = "robot"
    __table_args__ = (Index("ix_robot_department", "department"),)

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=64, unique=True)
    department: str = Field(max_length=64)
    kind: RobotKind = enum_field()
    # The webhook URL carries the robot's key or token, and `secret` its signing secret: both are
    # secrets, stored for sending and never shown again (robots list shows the host only) or logged.
    webhook_url: str = Field(max_length=1024)
    secret: str | None = Field(default=None, max_length=256)
    notice_kinds: list[Any] = json_field(list)  # which notice kinds it carries (rules.ALERT_GROUP_KINDS)
    active: bool = True
    broken_reason: str | None = Field(default=None, max_length=300)  # set when the platform refused it
    broken_at: datetime | None = None
    created_by: str = Field(default="", max_length=64)
    created_at: datetime = Field(default_factory=utcnow)
