"""A small OpenID Connect issuer for the sign-in test: discovery, an authorization endpoint
that signs in whoever the test says (as a real issuer would after its own login form), a
token endpoint that checks the code, client secret, redirect URI and PKCE verifier, and JWKS."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
from dataclasses import dataclass, field
from typing import Annotated
from urllib.parse import urlencode

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import FastAPI, Form, HTTPException
from fastapi.responses import RedirectResponse

KEY_ID = "test-issuer-1"


@dataclass
class TestIssuer:
    __test__ = False  # a helper, not a test class

    client_id: str
    client_secret: str
    subject: str = ""
    url: str = ""
    issued_codes: dict[str, dict[str, str]] = field(default_factory=dict)
    redeemed: list[str] = field(default_factory=list)
    key: rsa.RSAPrivateKey = field(
        default_factory=lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048)
    )

    def id_token(self, nonce: str) -> str:
        now = int(time.time())
        claims = {"iss": self.url, "aud": self.client_id, "sub": self.subject, "nonce": nonce,
                  "iat": now, "exp": now + 300}  # fmt: skip
        return jwt.encode(claims, self.key, algorithm="RS256", headers={"kid": KEY_ID})

    def jwks(self) -> dict[str, object]:
        public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key()))
        return {"keys": [{**public, "kid": KEY_ID, "use": "sig", "alg": "RS256"}]}


def s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")


def issuer_app(issuer: TestIssuer) -> FastAPI:
    app = FastAPI()

    @app.get("/.well-known/openid-configuration")
    async def discovery() -> dict[str, str]:
        return {
            "issuer": issuer.url,
            "authorization_endpoint": f"{issuer.url}/authorize",
            "token_endpoint": f"{issuer.url}/token",
            "jwks_uri": f"{issuer.url}/jwks",
        }

    @app.get("/authorize")
    async def authorize(
        client_id: str, redirect_uri: str, state: str, nonce: str,
        code_challenge: str, code_challenge_method: str, response_type: str,
    ) -> RedirectResponse:  # fmt: skip
        if client_id != issuer.client_id or code_challenge_method != "S256":
            raise HTTPException(400, "bad client or PKCE method")
        code = secrets.token_urlsafe(16)
        issuer.issued_codes[code] = {
            "challenge": code_challenge, "nonce": nonce, "redirect_uri": redirect_uri,
        }  # fmt: skip
        return RedirectResponse(f"{redirect_uri}?{urlencode({'code': code, 'state': state})}")

    @app.post("/token")
    async def token(
        grant_type: Annotated[str, Form()], code: Annotated[str, Form()],
        redirect_uri: Annotated[str, Form()], client_id: Annotated[str, Form()],
        code_verifier: Annotated[str, Form()], client_secret: Annotated[str, Form()] = "",
    ) -> dict[str, str]:  # fmt: skip
        issued = issuer.issued_codes.pop(code, None)
        if (
            issued is None
            or grant_type != "authorization_code"
            or client_id != issuer.client_id
            or client_secret != issuer.client_secret
            or redirect_uri != issued["redirect_uri"]
            or s256(code_verifier) != issued["challenge"]
        ):
            raise HTTPException(400, "invalid_grant")
        issuer.redeemed.append(code)
        return {"access_token": "unused", "token_type": "Bearer",
                "id_token": issuer.id_token(issued["nonce"])}  # fmt: skip

    @app.get("/jwks")
    async def jwks() -> dict[str, object]:
        return issuer.jwks()

    return app
