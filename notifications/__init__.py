"""Jinja2 templates, the outbox dispatcher and the scheduler's sweeps (issue 5). The outbox table is
models.outbox.OutboxMessage; nothing here imports bot/."""
