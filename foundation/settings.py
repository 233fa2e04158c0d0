"""All configuration of overgang, in one place.

Every value can be set by an environment variable with the prefix ``OVERGANG_`` (for
example ``OVERGANG_API_PORT=9000``); the two that decide whether the embedded stack is
used also answer to their conventional names, ``DATABASE_URL`` and ``TEMPORAL_ADDRESS``.
Build settings with :func:`load_settings`, never at import time, so tests can make their own.
"""

from __future__ import annotations

import base64
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AliasChoices, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from domain.access import EMERGENCY_ACCESS_FOR

# A fixed development key keeps the embedded default usable out of the box; it is refused
# whenever the environment is not "development" (see the validator below).
DEVELOPMENT_CODEC_KEY = base64.b64encode(b"overgang-development-key-32bytes").decode()


class Settings(BaseSettings):
    """Settings for the embedded default and for a deployment on external services."""

    model_config = SettingsConfigDict(env_prefix="OVERGANG_", extra="ignore")

    environment: Annotated[str, Field(description="development, test or production")] = (
        "development"
    )
    state_dir: Path = Field(
        default=Path(".overgang"),
        description="Folder for the embedded PostgreSQL data and the Temporal db file.",
    )

    # PostgreSQL: unset means "start the embedded server under state_dir".
    database_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("DATABASE_URL", "OVERGANG_DATABASE_URL"),
        description="postgresql+asyncpg://... of an external PostgreSQL.",
    )

    # Temporal: unset address means "start the embedded dev server under state_dir".
    temporal_address: str | None = Field(
        default=None,
        validation_alias=AliasChoices("TEMPORAL_ADDRESS", "OVERGANG_TEMPORAL_ADDRESS"),
        description="host:port of a Temporal frontend (cluster or Temporal Cloud).",
    )
    temporal_namespace: str = Field(
        default="default",
        validation_alias=AliasChoices("TEMPORAL_NAMESPACE", "OVERGANG_TEMPORAL_NAMESPACE"),
    )
    temporal_api_key: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("TEMPORAL_API_KEY", "OVERGANG_TEMPORAL_API_KEY"),
    )
    temporal_tls: bool = Field(default=False, description="Use TLS to reach Temporal.")
    temporal_tls_cert: Path | None = Field(default=None, description="Client certificate (mTLS).")
    temporal_tls_key: Path | None = Field(default=None, description="Client key (mTLS).")
    temporal_task_queue: str = "overgang"
    temporal_port: int = Field(default=7233, description="Embedded dev server's gRPC port.")
    temporal_ui_port: int = Field(default=8233, description="Embedded dev server's Web UI port.")

    temporal_ui_origin: str | None = Field(
        default=None,
        description="Origin of the Temporal Web UI allowed to call /codec (CORS), e.g. "
        "http://127.0.0.1:8233; `overgang up` sets it for the embedded UI.",
    )
    api_host: str = "127.0.0.1"
    api_port: int = 8000
    public_base_url: str | None = Field(
        default=None, description="Base URL that links in notifications point to."
    )

    # Payload encryption for Temporal histories: key id -> base64 AES-256 key. The first
    # id in codec_key_order (or the only key) encrypts; every key decrypts (rotation).
    codec_keys: dict[str, SecretStr] = Field(
        default_factory=lambda: {"dev-1": SecretStr(DEVELOPMENT_CODEC_KEY)}
    )
    codec_active_key: str = "dev-1"

    # Authentication (OpenID Connect). With no issuer set, the built-in development
    # issuer signs tokens with a key pair kept under state_dir.
    oidc_issuer: str | None = None
    oidc_audience: str = "overgang"
    oidc_jwks_url: str | None = None
    # The web pages sign people in at the issuer (authorization code flow with PKCE).
    oidc_client_id: str | None = None
    oidc_client_secret: SecretStr | None = None

    # Periods of the cooperation agreement (samarbeidsavtale), frozen into each discharge when
    # it starts. Defaults from domain.md; tests shorten them to seconds.
    follow_up_within: timedelta = Field(
        default=timedelta(days=7), description="First contact after discharge (quality target)."
    )
    waiting_day_length: timedelta = Field(
        default=timedelta(days=1), description="One overliggedøgn; shorter only in tests."
    )
    housing_lead_time: timedelta = Field(
        default=timedelta(weeks=8), description="Start housing handovers this long before."
    )
    # Emergency access (blålys, Normen): how long a grant lets a health worker read.
    emergency_access_for: timedelta = Field(
        default=EMERGENCY_ACCESS_FOR,
        gt=timedelta(0),
        description="How long an emergency access grant lasts (Normen: short-term).",
    )

    # Signs the web pages' session cookies. Unset in development: a random key is kept under
    # state_dir (see web.sessions); required in production.
    session_secret: SecretStr | None = None

    # SMTP for e-mail notifications. Unset OVERGANG_SMTP_HOST is the embedded default:
    # `overgang up` runs a mail catcher on 127.0.0.1:smtp_port, read on an admin page.
    smtp_host: str = Field(
        default="127.0.0.1", description="SMTP server; setting it turns the mail catcher off."
    )
    smtp_port: int = 1025
    smtp_sender: str = "overgang@localhost"
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_start_tls: bool = Field(default=False, description="Upgrade the SMTP connection.")
    smtp_timeout_seconds: float = 10.0
    # Webhooks to units' systems (EPJ, chat): how long one delivery may take.
    webhook_timeout_seconds: float = 10.0

    # Logs, metrics and traces (foundation/observability.py, telemetry.py, tracing.py).
    log_format: Literal["auto", "json", "plain"] = Field(
        default="auto",
        description="auto: JSON lines unless a person reads them at a terminal, and always "
        "JSON in production; plain: one readable line per record.",
    )
    log_level: str = Field(
        default="INFO", description="For overgang's own loggers; libraries log from WARNING."
    )
    temporal_metrics: bool = Field(
        default=True, description="Collect the Temporal SDK's metrics for /metrics."
    )
    worker_metrics_host: str = "127.0.0.1"
    worker_metrics_port: int = Field(
        default=9464,
        description="Where `overgang worker`, running alone, serves its /metrics (the Temporal "
        "SDK's and the worker's own); under `overgang up` the API's /metrics carries them.",
    )
    otel_exporter_otlp_endpoint: str | None = Field(
        default=None,
        validation_alias=AliasChoices(
            "OTEL_EXPORTER_OTLP_ENDPOINT", "OVERGANG_OTEL_EXPORTER_OTLP_ENDPOINT"
        ),
        description="OTLP/HTTP collector (e.g. http://collector:4318); unset: no tracing.",
    )
    otel_service_name: str = Field(
        default="overgang",
        validation_alias=AliasChoices("OTEL_SERVICE_NAME", "OVERGANG_OTEL_SERVICE_NAME"),
    )

    @model_validator(mode="after")
    def _refuse_development_secrets(self) -> Settings:
        if self.environment == "production":
            dev_key = self.codec_keys.get("dev-1")
            if dev_key is not None and dev_key.get_secret_value() == DEVELOPMENT_CODEC_KEY:
                raise ValueError("OVERGANG_CODEC_KEYS must be set to real keys in production")
            if self.oidc_issuer is None:
                raise ValueError("OVERGANG_OIDC_ISSUER must be set in production")
            if self.session_secret is None:
                raise ValueError("OVERGANG_SESSION_SECRET must be set in production")
        if self.codec_active_key not in self.codec_keys:
            raise ValueError(f"codec_active_key {self.codec_active_key!r} is not in codec_keys")
        return self

    @property
    def embedded_postgres(self) -> bool:
        return self.database_url is None

    @property
    def embedded_temporal(self) -> bool:
        return self.temporal_address is None

    @property
    def api_base_url(self) -> str:
        return self.public_base_url or f"http://{self.api_host}:{self.api_port}"

    @property
    def postgres_dir(self) -> Path:
        return self.state_dir.resolve() / "postgres"

    @property
    def temporal_db_file(self) -> Path:
        return self.state_dir.resolve() / "temporal.db"

    @property
    def smtp_configured(self) -> bool:
        """Whether an SMTP server was named (OVERGANG_SMTP_HOST), rather than left to the
        embedded default, whose mail catcher `overgang up` runs."""
        return "smtp_host" in self.model_fields_set

    @property
    def caught_mail_dir(self) -> Path:
        """The mail catcher's Maildir: what the embedded default would have sent."""
        return self.state_dir.resolve() / "mail"


def load_settings(**overrides: object) -> Settings:
    """Read settings from the environment, with explicit overrides winning."""
    return Settings(**overrides)  # type: ignore[arg-type]
