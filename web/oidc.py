"""Signing in at a configured OpenID Connect issuer (HelseID, a municipality's IdP): the
authorization code flow with PKCE, state and nonce, and the ID token checked against the
issuer's keys. The issuer's discovery document says where everything is."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx
import jwt

from foundation.settings import Settings

DISCOVERY_PATH = "/.well-known/openid-configuration"
SCOPES = "openid profile"
HTTP_TIMEOUT_SECONDS = 10
HPR_CLAIMS = ("hpr_number", "helseid://claims/hpr/hpr_number")


class SignInFailed(Exception):
    """The issuer's answer could not be trusted or used; the reason is for the log and page."""


@dataclass(frozen=True)
class PendingSignIn:
    """What the session keeps between the redirect to the issuer and the callback."""

    state: str
    nonce: str
    verifier: str
    next_path: str

    def encode(self) -> str:
        return json.dumps(self.__dict__)

    @classmethod
    def decode(cls, text: str | None) -> PendingSignIn | None:
        try:
            return cls(**json.loads(text)) if text else None
        except (ValueError, TypeError):
            return None

    @classmethod
    def new(cls, next_path: str) -> PendingSignIn:
        return cls(
            state=secrets.token_urlsafe(24),
            nonce=secrets.token_urlsafe(24),
            verifier=secrets.token_urlsafe(48),
            next_path=next_path,
        )

    @property
    def challenge(self) -> str:
        digest = hashlib.sha256(self.verifier.encode()).digest()
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")


class OidcClient:
    """One per app: caches the discovery document and the issuer's signing keys."""

    def __init__(self, settings: Settings) -> None:
        assert settings.oidc_issuer, "OidcClient needs OVERGANG_OIDC_ISSUER"
        if not settings.oidc_client_id:
            raise ValueError("OVERGANG_OIDC_CLIENT_ID must be set with OVERGANG_OIDC_ISSUER")
        self.issuer = settings.oidc_issuer  # exactly as the ID tokens' iss says it
        self.client_id = settings.oidc_client_id
        self._secret = settings.oidc_client_secret
        self._discovery: dict[str, Any] | None = None
        self._keys: jwt.PyJWKSet | None = None

    async def discovery(self) -> dict[str, Any]:
        if self._discovery is None:
            async with httpx.AsyncClient(timeout=HTTP_TIMEOUT_SECONDS) as http:
                response = await http.get(self.issuer.rstrip("/") + DISCOVERY_PATH)
            if response.status_code != 200:
                raise SignInFailed(f"discovery answered {response.status_code}")
            self._discovery = response.json()
        return self._discovery

    async def authorization_url(self, pending: PendingSignIn, redirect_uri: str) -> str:
        endpoint = (await self.discovery())["authorization_endpoint"]
        query = {
            "response_type": "code",
            "client_id": self.client_id,
            "redirect_uri": redirect_uri,
            "scope": SCOPES,
            "state": pending.state,
            "nonce": pending.nonce,
            "code_challenge": pending.challenge,
            "code_challenge_method": "S256",
        }
        return f"{endpoint}?{urlencode(query)}"

    async def redeem(self, code: str, pending: PendingSignIn, redirect_uri: str) -> dict[str, Any]:
        """Exchange the code for tokens; returns the verified ID token's claims."""
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "client_id": self.client_id,
            "code_verifier": pending.verifier,
        }
        if self._secret is not None:
            form["client_secret"] = self._secret.get_secret_value()
        discovery = await self.discovery()
        async with httpx.AsyncClient(timeout=HTTP_TIMEOUT_SECONDS) as http:
            response = await http.post(discovery["token_endpoint"], data=form)
        if response.status_code != 200 or "id_token" not in response.json():
            raise SignInFailed(f"the token endpoint answered {response.status_code}")
        id_token = response.json()["id_token"]
        return self._verified(id_token, await self._key_for(id_token), pending.nonce)

    async def _key_for(self, id_token: str) -> Any:
        """The issuer's key for the token's kid; keys are fetched again once on a miss
        (the issuer rotated them). Async, so a slow issuer never blocks other requests."""
        try:
            kid = jwt.get_unverified_header(id_token).get("kid")
        except jwt.PyJWTError as error:
            raise SignInFailed(f"the ID token is malformed: {error}") from error
        for refresh in (self._keys is None, True):
            if refresh:
                self._keys = await self._fetch_keys()
            assert self._keys is not None
            found = [k for k in self._keys.keys if kid is None or k.key_id == kid]
            if found:
                return found[0].key
        raise SignInFailed(f"the issuer has no key {kid}")

    async def _fetch_keys(self) -> jwt.PyJWKSet:
        jwks_uri = (await self.discovery())["jwks_uri"]
        async with httpx.AsyncClient(timeout=HTTP_TIMEOUT_SECONDS) as http:
            response = await http.get(jwks_uri)
        if response.status_code != 200:
            raise SignInFailed(f"the issuer's keys answered {response.status_code}")
        return jwt.PyJWKSet.from_dict(response.json())

    def _verified(self, id_token: str, key: Any, nonce: str) -> dict[str, Any]:
        try:
            claims = jwt.decode(
                id_token, key, algorithms=["RS256", "ES256", "PS256"],
                audience=self.client_id, issuer=self.issuer,
                options={"require": ["exp", "iss", "aud", "sub", "nonce"]},
            )  # fmt: skip
        except jwt.PyJWTError as error:
            raise SignInFailed(f"the ID token was refused: {error}") from error
        if not secrets.compare_digest(str(claims["nonce"]), nonce):
            raise SignInFailed("the ID token's nonce does not match this sign-in")
        return claims


def hpr_number_of(claims: dict[str, Any]) -> str | None:
    return next((str(claims[c]) for c in HPR_CLAIMS if claims.get(c)), None)
