"""SMTP settings from the environment (SOCIALCARE_SMTP_*). No host: email stays pending, unsent."""

from __future__ import annotations

from functools import lru_cache

from pydantic_settings import BaseSettings, SettingsConfigDict


class SmtpSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SOCIALCARE_SMTP_", env_file=".env", extra="ignore")

    host: str | None = None
    port: int = 25
    username: str | None = None
    password: str | None = None
    starttls: bool = False
    sender: str = "socialcare <no-reply@localhost>"
    timeout_seconds: float = 10.0
    # send right after the request that raised the notification commits (no job runner needed);
    # a job may instead call notifications.service.deliver_pending_email on a schedule
    send_on_commit: bool = True

    @property
    def configured(self) -> bool:
        return bool(self.host)


@lru_cache
def get_smtp_settings() -> SmtpSettings:
    return SmtpSettings()
