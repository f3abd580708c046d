"""Deploy and runtime settings: the one place that reads the environment.

Every setting comes from a ``CHESTX_*`` environment variable (or a ``.env`` file in the working
directory). Code elsewhere receives a :class:`Settings` object, usually from :func:`get_settings`;
no other module reads ``os.environ``.
"""

from __future__ import annotations

import functools
import ipaddress
import os
from pathlib import Path
from typing import Annotated

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from vocab.errors import ChestXError

# Only a development default: a deployment must set CHESTX_PSEUDONYM_KEY (see docs/OPERATIONS.md).
DEV_PSEUDONYM_KEY = "chestx-dev-key-change-me"
NEW_KEY_COMMAND = 'python -c "import secrets; print(secrets.token_urlsafe(32))"'


class UnsafeSettings(ChestXError):
    """A setting that is fine on one workstation is refused where others could be affected."""


def is_loopback(host: str | None) -> bool:
    """Whether ``host`` (an address or name to listen on) is reachable from this machine only."""
    if host is None:
        return False
    name = host.strip().strip("[]").lower()
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:  # a host name other than localhost may resolve to anything
        return False


class Settings(BaseSettings):
    """All deploy-time configuration of ChestX Review."""

    model_config = SettingsConfigDict(env_prefix="CHESTX_", env_file=".env", extra="ignore")

    home: Path = Field(Path("chestx-data"), description="Data folder: database, images, models, exports.")
    database_url: str | None = Field(
        None,
        description="SQLAlchemy URL; default a SQLite file under home. "
        "PostgreSQL: postgresql+psycopg://user@host/db",
    )
    pseudonym_key: SecretStr = Field(
        SecretStr(DEV_PSEUDONYM_KEY),
        description="Secret key for the keyed HMAC pseudonyms of patients and UIDs.",
    )
    date_shift_max_days: int = Field(365, ge=0, description="Dates shift back by up to this many days.")
    max_upload_bytes: int = Field(200 * 1024 * 1024, gt=0, description="Largest accepted upload.")
    max_image_pixels: int = Field(50_000_000, gt=0, description="Larger images are refused (bombs).")
    viewer_max_side: int = Field(2048, gt=64, description="Longest side of a display rendering.")
    render_cache_items: int = Field(64, ge=0, description="Renderings kept in memory.")
    sqlite_busy_timeout_ms: int = Field(30_000, ge=0)
    lock_minutes: float = Field(15.0, gt=0, description="A case lease lasts this long unless renewed.")
    session_hours: float = Field(12.0, gt=0, description="Login sessions expire after this long.")
    required_reviews: int = Field(1, ge=1, description="Default reviews a case needs to be verified.")

    # Reasoner
    reasoner_backend: str = Field("hf", description="hf | openai | report")
    model_path: str | None = Field(None, description="Local model dir or hub id for the hf backend.")
    openai_base_url: str | None = Field(None, description="OpenAI-compatible endpoint (vLLM, SGLang).")
    openai_api_key: SecretStr | None = None
    openai_model: str | None = None
    system_prompt: str = "You are a helpful assistant."
    judge_base_url: str | None = Field(None, description="LLM judge endpoint for RadRScore.")
    judge_model: str | None = None
    judge_api_key: SecretStr | None = Field(
        None, description="The LLM judge's own API key (never the reasoner's CHESTX_OPENAI_API_KEY)."
    )

    # Web
    host: str = "127.0.0.1"
    port: int = 7860
    cookie_secure: bool = False
    trusted_proxies: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Addresses or CIDRs of the reverse proxies whose X-Forwarded-For is believed "
        "(comma-separated); empty: the peer address is the client.",
    )
    access_log: bool = Field(True, description="One JSON line per request on stderr.")

    @field_validator("home")
    @classmethod
    def _absolute(cls, v: Path) -> Path:
        return v.expanduser().resolve()

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _networks(cls, v: object) -> list[str]:
        items = v.split(",") if isinstance(v, str) else list(v or [])  # type: ignore[call-overload]
        out = []
        for item in (str(i).strip() for i in items):
            if item:
                try:
                    out.append(str(ipaddress.ip_network(item, strict=False)))
                except ValueError:
                    raise ValueError(f"CHESTX_TRUSTED_PROXIES: {item!r} is not an address or CIDR") from None
        return out

    @property
    def sqlalchemy_url(self) -> str:
        """The database URL, defaulting to ``<home>/chestx.sqlite3``."""
        return self.database_url or f"sqlite:///{self.home / 'chestx.sqlite3'}"

    @property
    def image_dir(self) -> Path:
        return self.home / "images"

    @property
    def cache_dir(self) -> Path:
        """Files the app writes for its pages and workers (chart HTML, export zips)."""
        return self.home / "cache"

    @property
    def models_dir(self) -> Path:
        return self.home / "models"

    @property
    def runs_dir(self) -> Path:
        return self.home / "runs"

    @property
    def exports_dir(self) -> Path:
        return self.home / "exports"

    @property
    def uses_sqlite(self) -> bool:
        return self.sqlalchemy_url.startswith("sqlite")

    @property
    def uses_dev_key(self) -> bool:
        return self.pseudonym_key.get_secret_value() == DEV_PSEUDONYM_KEY

    def require_own_key(self, *, host: str | None = None) -> None:
        """Refuse the development pseudonym key on PostgreSQL (a department's data) or, when
        ``host`` is given, on an address other machines can reach: anyone who reads this source
        could otherwise recompute every pseudonym. Raises :class:`UnsafeSettings` saying how to
        set ``CHESTX_PSEUDONYM_KEY``."""
        if not self.uses_dev_key:
            return
        where = None
        if not self.uses_sqlite:
            where = "with PostgreSQL"
        elif host is not None and not is_loopback(host):
            where = f"on {host} (reachable from other machines)"
        if where:
            raise UnsafeSettings(
                f"CHESTX_PSEUDONYM_KEY is the public development key, which is refused {where}. "
                f"Make a key of your own with  {NEW_KEY_COMMAND}  and set it as "
                "CHESTX_PSEUDONYM_KEY for every process (app, CLI, workers); keep it secret and "
                "never change it (see docs/OPERATIONS.md)"
            )

    def key_bytes(self) -> bytes:
        """The pseudonym key (refused on PostgreSQL while it is the development key)."""
        self.require_own_key()
        return self.pseudonym_key.get_secret_value().encode()


@functools.cache
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings()


def quiet_gradio() -> None:
    """Turn Gradio's one call home off; call before gradio is first imported (a constant of this
    app, not configuration: the web package does it on import)."""
    os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
