"""Settings, read once from the environment."""

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent
# The default SQLite file and mail folder: var/ of the source checkout (make run), or var/ in the
# current directory for an installed package, which never writes into site-packages.
VAR_DIR = (PROJECT_ROOT if (PROJECT_ROOT / "pyproject.toml").is_file() else Path.cwd()) / "var"
DEV_SECRET_KEY = "dev-insecure-secret-key-change-me"


class ConfigurationError(RuntimeError):
    """The environment does not describe a runnable configuration."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=None, extra="ignore", case_sensitive=True)

    WIJKWERF_ENV: Literal["dev", "test", "production"] = "dev"
    DATABASE_URL: str = f"sqlite:///{VAR_DIR / 'wijkwerf.db'}"
    SECRET_KEY: str = DEV_SECRET_KEY
    BASE_URL: str = "http://127.0.0.1:8000"
    MAIL_URL: str = f"file://{VAR_DIR / 'mail'}"
    MAIL_FROM: str = "Wijkwerf <noreply@wijkwerf.be>"
    # The file:// mailer is a development tool: its .eml files (which hold names, addresses and
    # links) are deleted after this many days, and a household's files when it is erased.
    MAIL_FILE_RETENTION_DAYS: float = 7.0
    # How often the in-process mail sender polls the outbox, in seconds.
    MAIL_POLL_SECONDS: float = 1.0
    # How long a sender may take to hand one mail over before another sender may try it again.
    MAIL_LEASE_SECONDS: float = 60.0
    DB_POOL_SIZE: int = 8
    # Threads that run sync routes; 0 means as many as database connections (see README).
    WORKER_THREADS: int = 0
    # A browser session ends after this long without a request, and this long after log-in.
    SESSION_IDLE_MINUTES: int = 60
    SESSION_ABSOLUTE_HOURS: int = 12
    # The same for API bearer tokens (staff, contractors, and residents from a magic link).
    API_TOKEN_IDLE_MINUTES: int = 60
    API_TOKEN_ABSOLUTE_HOURS: int = 12
    MAGIC_LINK_MINUTES: int = 30
    PRIVACY_NOTICE_VERSION: str = "2026-01"
    # How stale a public page (and its counters) may be; 0 turns the micro-cache off.
    PUBLIC_CACHE_SECONDS: float = 1.0
    # `wijkwerf serve`'s log lines: one JSON object per line, or plain text for a terminal.
    LOG_FORMAT: Literal["json", "text"] = "json"
    # The bearer token Prometheus sends to /metrics; unset, /metrics answers 404.
    METRICS_TOKEN: str = ""

    @model_validator(mode="after")
    def _production_needs_a_secret(self) -> "Settings":
        if self.WIJKWERF_ENV == "production" and (
            self.SECRET_KEY == DEV_SECRET_KEY or len(self.SECRET_KEY) < 32
        ):
            raise ConfigurationError(
                "WIJKWERF_ENV=production needs SECRET_KEY set to a random value of at least "
                "32 characters (for example: python3 -c 'import secrets; "
                "print(secrets.token_urlsafe(48))'). It signs sessions and CSRF tokens."
            )
        return self

    @property
    def is_sqlite(self) -> bool:
        return self.DATABASE_URL.startswith("sqlite")

    @property
    def secure_cookies(self) -> bool:
        # Production always; elsewhere only when served over https (dev and test use http).
        return self.WIJKWERF_ENV == "production" or self.BASE_URL.startswith("https")


@lru_cache
def get_settings() -> Settings:
    return Settings()
