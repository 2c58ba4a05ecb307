"""Settings from the environment (SOCIALCARE_*), with an embedded SQLite default."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_SECRET_KEY = "change-me-in-production-this-is-only-for-the-local-demo"


class ProductionMisconfigured(RuntimeError):
    """Settings that would put member data at risk in production (the default secret key, SQLite)."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SOCIALCARE_", env_file=".env", extra="ignore")

    data_dir: Path = Field(default=Path("data"), description="where the embedded database and exports live")
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL; default sqlite:///<data_dir>/socialcare.db; "
        "postgresql+psycopg://user@host/db for production",
    )
    secret_key: str = Field(
        default=DEFAULT_SECRET_KEY,
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
    forwarded_allow_ips: str = Field(default="127.0.0.1", description="proxies whose X-Forwarded-* headers are trusted")
    port: int = 8000
    env: str = Field(default="development", description="'production' refuses the default secret key and SQLite")
    redis_url: str | None = Field(
        default=None,
        description="redis://host:6379/0: the job queue lives in Redis (several workers); default: an SQLite "
        "queue file in the data dir (one machine)",
    )
    jobs_queue_name: str = Field(default="socialcare", description="the queue's name (its Redis key prefix)")
    jobs_tick_seconds: float = Field(default=5.0, gt=0, description="how often a worker looks for periodic jobs due")
    jobs_threads: int = Field(default=2, ge=1, description="job threads per worker (and in the embedded worker)")
    drop_folder: Path | None = Field(default=None, description="a partner drop folder the workers pick files up from")
    drop_folder_user: str | None = Field(default=None, description="the username the drop folder imports as")
    metrics_token: str | None = Field(default=None, description="when set, /metrics wants 'Authorization: Bearer <it>'")
    log_format: str = Field(default="text", description="text, or json (one JSON object per line, with request id)")
    clock_file: Path | None = Field(
        default=None,
        description="tests only: a file holding seconds to add to the real clock (an injected clock shared "
        "between processes); refused in production",
    )

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        self.data_dir.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{(self.data_dir / 'socialcare.db').resolve()}"

    @property
    def is_production(self) -> bool:
        return self.env.lower() in ("production", "prod")

    def production_problems(self) -> list[str]:
        """Why this configuration must not serve real members (empty when it may)."""
        if not self.is_production:
            return []
        problems = []
        if self.secret_key == DEFAULT_SECRET_KEY or len(self.secret_key) < 32:
            problems.append("SOCIALCARE_SECRET_KEY is the demo default or shorter than 32 characters; "
                            "set a long random one (python -c 'import secrets; print(secrets.token_urlsafe(48))')")
        if self.effective_database_url.startswith("sqlite"):
            problems.append("the database is SQLite; set SOCIALCARE_DATABASE_URL=postgresql+psycopg://...")
        if self.clock_file is not None:
            problems.append("SOCIALCARE_CLOCK_FILE shifts the clock and is for tests only; unset it")
        return problems

    def check_production(self) -> None:
        problems = self.production_problems()
        if problems:
            raise ProductionMisconfigured("socialcare refuses to start in production: " + "; ".join(problems) + ".")

    @property
    def claims_dir(self) -> Path:
        return self.analytics_data_dir or self.data_dir / "claims"


@lru_cache
def get_settings() -> Settings:
    return Settings()
