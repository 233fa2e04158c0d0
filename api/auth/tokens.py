"""Bearer tokens: OpenID Connect JWTs checked against an issuer's keys.

With no issuer configured, a development issuer signs tokens with a key pair kept under the
state folder; only `overgang token USER_ID` mints them. With OVERGANG_OIDC_ISSUER set (e.g.
HelseID), tokens are verified against that issuer's JWKS and the development key is unused.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from pydantic import BaseModel

from foundation.settings import Settings

DEV_ISSUER = "urn:overgang:development-issuer"
DEV_KEY_ID = "overgang-dev-1"


class InvalidToken(Exception):
    """The token is missing, malformed, expired, or not from the trusted issuer."""


# How token claims map to a directory person (HelseID, the health sector's OIDC provider):
# - `sub` is the person's id in our directory (the development issuer uses it so); HelseID's
#   `sub` is a pairwise pseudonym, so when no directory person has that id, the person is
#   found by HPR number (api.deps.current_actor);
# - the HPR number (helsepersonellregisteret) comes from HelseID's
#   `helseid://claims/hpr/hpr_number`, or `hpr_number` from the development issuer;
# - units and roles are NOT taken from the token: the directory is the authority for which
#   units a person acts for (and absences add substitutions), so revoking a membership takes
#   effect at once, without waiting for tokens to expire.
# The fødselsnummer claim HelseID can send (`helseid://claims/identity/pid`) is never read.
HPR_CLAIMS = ("helseid://claims/hpr/hpr_number", "hpr_number")


class Claims(BaseModel, frozen=True):
    subject: str
    hpr_number: str | None = None
    issuer: str


def _key_path(settings: Settings) -> Path:
    return settings.state_dir.resolve() / "dev-issuer-key.pem"


class DevelopmentIssuer:
    """The embedded default's identity provider: one RSA key pair on disk."""

    def __init__(self, settings: Settings) -> None:
        self.audience = settings.oidc_audience
        self._private = _load_or_create_key(_key_path(settings))

    def mint(
        self, subject: str, *, hpr_number: str | None = None, ttl_seconds: int = 8 * 3600
    ) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": DEV_ISSUER,
            "aud": self.audience,
            "sub": subject,
            "iat": now,
            "nbf": now,
            "exp": now + ttl_seconds,
        }
        if hpr_number:
            claims["hpr_number"] = hpr_number
        return jwt.encode(claims, self._private, algorithm="RS256", headers={"kid": DEV_KEY_ID})

    def public_key(self) -> rsa.RSAPublicKey:
        return self._private.public_key()


def _load_or_create_key(path: Path) -> rsa.RSAPrivateKey:
    if path.exists():
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        assert isinstance(key, rsa.RSAPrivateKey)
        return key
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path.parent.mkdir(parents=True, exist_ok=True)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    path.touch(mode=0o600)
    path.write_bytes(pem)
    return key


class TokenVerifier:
    """Checks signature, issuer, audience and lifetime; the directory decides the rest."""

    def __init__(self, settings: Settings) -> None:
        self.audience = settings.oidc_audience
        if settings.oidc_issuer:
            self.issuer = settings.oidc_issuer
            jwks_url = (
                settings.oidc_jwks_url
                or f"{settings.oidc_issuer.rstrip('/')}/.well-known/jwks.json"
            )
            self._jwks: jwt.PyJWKClient | None = jwt.PyJWKClient(jwks_url, cache_keys=True)
            self._dev_key: rsa.RSAPublicKey | None = None
        else:
            self.issuer = DEV_ISSUER
            self._jwks = None
            self._dev_key = DevelopmentIssuer(settings).public_key()

    def _signing_key(self, token: str) -> Any:
        if self._jwks is not None:
            return self._jwks.get_signing_key_from_jwt(token).key
        return self._dev_key

    def verify(self, token: str) -> Claims:
        try:
            payload = jwt.decode(
                token,
                self._signing_key(token),
                algorithms=["RS256", "ES256", "PS256"],
                audience=self.audience,
                issuer=self.issuer,
                options={"require": ["exp", "iss", "aud", "sub"]},
            )
        except jwt.PyJWTError as error:
            raise InvalidToken(str(error)) from error
        return Claims(
            subject=str(payload["sub"]),
            hpr_number=next((str(payload[c]) for c in HPR_CLAIMS if payload.get(c)), None),
            issuer=str(payload["iss"]),
        )
