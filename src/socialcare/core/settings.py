"""Settings from the environment (SOCIALCARE_*), with an embedded SQLite default."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SOCIALCARE_", env_file=".env", extra="ignore")

    data_dir: Path = Field(default=Path("data"), description="where the embedded database and exports live")
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL; default sqlite:///<data_dir>/socialcare.db; "
        "postgresql+psycopg://user@host/db for production",
    )
    secret_key: str = Field(
        default="change-me-in-production-this-is-only-for-the-local-demo",
        description="signs session cookies and CSRF tokens",
    )
    session_max_age_seconds: int = 8 * 3600
    cookie_secure: bool = Field(default=False, description="set true behind HTTPS: Secure cookies and HSTS")
    hsts_max_age_seconds: int = Field(default=31536000, description="Strict-Transport-Security max-age when "
                                      "cookie_secure is set (served over HTTPS)")
    session_idle_seconds: int = Field(default=30 * 60, description="a web session unused this long ends")
    max_body_bytes: int = Field(default=1_000_000, description="largest request body a form or JSON route takes")
    max_upload_bytes: int = Field(default=10_000_000, description="largest file an upload route takes")
    db_statement_timeout_ms: int = Field(default=30_000, description="PostgreSQL: longest statement of a request")
    db_lock_timeout_ms: int = Field(default=5_000, description="PostgreSQL: longest wait for a row lock, then 409")
    small_cell_threshold: int = Field(default=11, description="counts below this are suppressed outside the plan")
    analytics_data_dir: Path | None = Field(
        default=None,
        description="claims data sets for shared savings, one folder each (claims/, eligibility/, "
        "program.parquet, manifest.json); default <data_dir>/claims. Pages and API read nothing outside it",
    )
    public_url: str = Field(
        default="http://127.0.0.1:8000",
        description="the address partners reach this server at; absolute FHIR references in what we push "
        "to a partner's FHIR server point here",
    )
    host: str = "127.0.0.1"
    port: int = 8000

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        self.data_dir.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{(self.data_dir / 'socialcare.db').resolve()}"

    @property
    def claims_dir(self) -> Path:
        return self.analytics_data_dir or self.data_dir / "claims"


@lru_cache
def get_settings() -> Settings:
    return Settings()
