"""An OIDC issuer's signing key for tests: generated in the test, published as a JWKS, signing JWTs."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

ISSUER = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Examp1e0"
CLIENT_ID = "1example23456789abcdefghij"
SUB = "8c1a4e2f-5b7d-4a39-9e60-2d3f4b5c6d7e"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


class IssuerKey:
    """An RS256 (2048-bit RSA) or ES256 (P-256) key pair with a key id."""

    def __init__(self, kid: str, algorithm: str = "RS256") -> None:
        self.kid = kid
        self.algorithm = algorithm
        self.private_key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey = (
            rsa.generate_private_key(public_exponent=65537, key_size=2048)
            if algorithm == "RS256"
            else ec.generate_private_key(ec.SECP256R1())
        )

    def jwk(self) -> dict[str, Any]:
        """The public half as a JWK, as an issuer's JWKS lists it."""
        public_key = self.private_key.public_key()
        public = (
            RSAAlgorithm.to_jwk(public_key, as_dict=True)
            if isinstance(public_key, rsa.RSAPublicKey)
            else ECAlgorithm.to_jwk(public_key, as_dict=True)
        )
        return {**public, "kid": self.kid, "alg": self.algorithm, "use": "sig"}

    def public_pem(self) -> bytes:
        return self.private_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def sign(self, claims: dict[str, Any], **header: Any) -> str:
        """A JWT of ``claims``; ``header`` adds or (with None) removes header parameters, ``kid`` included."""
        headers = {key: value for key, value in {"kid": self.kid, **header}.items() if value is not None}
        return jwt.encode(claims, self.private_key, algorithm=self.algorithm, headers=headers)


def jwks(*keys: IssuerKey) -> dict[str, Any]:
    return {"keys": [key.jwk() for key in keys]}


def id_token_claims(**overrides: Any) -> dict[str, Any]:
    """A Cognito ID token's claims (team ``finance``, group ``analysts``), valid for an hour from now."""
    now = int(time.time())
    claims: dict[str, Any] = {
        "sub": SUB,
        "cognito:groups": ["analysts"],
        "iss": ISSUER,
        "cognito:username": "alice",
        "aud": CLIENT_ID,
        "token_use": "id",
        "auth_time": now,
        "custom:team": "finance",
        "exp": now + 3600,
        "iat": now,
        "email": "alice@example.com",
    }
    claims.update(overrides)
    return {key: value for key, value in claims.items() if value is not None}


def access_token_claims(**overrides: Any) -> dict[str, Any]:
    """A Cognito access token's claims: no ``aud``; ``client_id`` and ``scope`` instead."""
    claims = id_token_claims(aud=None, email=None, token_use="access", client_id=CLIENT_ID, scope="openid email")
    claims.update(overrides)
    return {key: value for key, value in claims.items() if value is not None}


def unsigned(claims: dict[str, Any], kid: str) -> str:
    """``alg: none``: header and payload with an empty signature."""
    header = b64url(json.dumps({"alg": "none", "typ": "JWT", "kid": kid}).encode())
    return f"{header}.{b64url(json.dumps(claims).encode())}."


def hs256_with_public_key(key: IssuerKey, claims: dict[str, Any]) -> str:
    """The algorithm-confusion attack: HS256 with the issuer's public key (PEM) as the HMAC secret."""
    header = b64url(json.dumps({"alg": "HS256", "typ": "JWT", "kid": key.kid}).encode())
    signing_input = f"{header}.{b64url(json.dumps(claims).encode())}"
    signature = hmac.new(key.public_pem(), signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64url(signature)}"


def tampered(token: str) -> str:
    """The payload changed (team ``admin-team``, role admin) and the original signature kept."""
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims.update({"custom:team": "admin-team", "cognito:groups": ["admin"]})
    return f"{header}.{b64url(json.dumps(claims).encode())}.{signature}"
