"""What the data commands share: the actor they write to the audit log, and user errors as exit codes."""

from __future__ import annotations

import getpass
from collections.abc import Awaitable, Callable
from typing import TypeVar

import typer

from bot.app import App, build_app
from workflows.errors import UserError

T = TypeVar("T")


def cli_actor() -> str:
    """Who ran the command, for the audit log ("cli:<login>")."""
    try:
        return f"cli:{getpass.getuser()}"[:96]
    except (KeyError, OSError):  # no login name in some containers
        return "cli"


async def with_app(work: Callable[[App], Awaitable[T]]) -> T:
    built = await build_app()
    try:
        return await work(built)
    finally:
        await built.close()


def fail(err: UserError) -> typer.Exit:
    """A refusal the user can fix: the message in Chinese, exit status 1."""
    typer.echo(err.zh, err=True)
    return typer.Exit(1)
