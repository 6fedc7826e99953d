"""Authentication as DHIS2 answers it (§6): Basic, ApiToken (2.37+), /uaa Bearer (≤2.41),
401 JSON for wrong credentials, 302 to the login page when there are none."""

from __future__ import annotations

import base64
import binascii
import hmac
import re
import secrets
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from dhispatch.runtime.sandbox.metadata import MetadataIndex
from dhispatch.runtime.sandbox.responses import web_message
from dhispatch.runtime.sandbox.users import User
from dhispatch.runtime.sandbox.versions import Version

_API_TOKEN = re.compile(r"^ApiToken (?P<token>[a-zA-Z0-9-._~+/]+=*)$", re.IGNORECASE)
TOKEN_TTL_S = 43_199


@dataclass(frozen=True, slots=True)
class Refusal:
    """An authentication failure, rendered as the version renders it."""

    status: int
    body: dict[str, Any] | None
    headers: Mapping[str, str]


class Authenticator:
    """Checks credentials against the configured passwords, tokens and OAuth2 clients."""

    def __init__(
        self,
        index: MetadataIndex,
        version: Version,
        passwords: Mapping[str, str],
        tokens: Mapping[str, str],
        oauth_clients: Mapping[str, str],
    ) -> None:
        self.index = index
        self.version = version
        self.passwords = dict(passwords)
        self.tokens = dict(tokens)
        self.oauth_clients = dict(oauth_clients)
        self._bearer: dict[str, tuple[str, float]] = {}
        self._refresh: dict[str, str] = {}
        self._lock = threading.Lock()

    def user(self, username: str) -> User:
        """A metadata user; configured users missing from the export are local superusers."""
        found = self.index.users.get(username)
        if found is not None:
            return found
        roots = tuple(
            uid
            for uid, ou in self.index.objects["organisationUnits"].items()
            if not (ou.get("parent") or {}).get("id")
        )
        return User(
            id=f"u{username[:10]:0>10}",
            username=username,
            authorities=frozenset({"ALL"}),
            org_units=roots,
        )

    def _password_ok(self, username: str, password: str) -> bool:
        expected = self.passwords.get(username)
        return expected is not None and hmac.compare_digest(
            expected.encode("utf-8"), password.encode("utf-8")
        )

    def authenticate(self, headers: Mapping[str, str]) -> User | Refusal:
        header = headers.get("authorization", "").strip()
        if not header:
            if headers.get("x-requested-with", "") == "XMLHttpRequest":
                return self.unauthorized()
            # Browsers (and clients that follow redirects) are sent to the login page.
            return Refusal(302, None, {"location": self.version.login_page})
        scheme, _, credentials = header.partition(" ")
        scheme = scheme.lower()
        if scheme == "basic":
            try:
                decoded = base64.b64decode(credentials.strip(), validate=True).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError):
                return self.unauthorized()
            username, sep, password = decoded.partition(":")
            if sep and self._password_ok(username, password):
                return self.user(username)
            return self.unauthorized()
        if scheme == "apitoken" and self.version.has_api_tokens:
            match = _API_TOKEN.match(header)
            if match is None:
                return self.unauthorized("Api token is malformed", api_token=True)
            owner = self._token_owner(match["token"])
            if owner is None:
                return self.unauthorized("The API token does not exists.", api_token=True)
            return self.user(owner)
        if scheme == "bearer" and self.version.has_uaa:
            with self._lock:
                entry = self._bearer.get(credentials.strip())
            if entry is not None and entry[1] > time.monotonic():
                return self.user(entry[0])
            return Refusal(
                401,
                {"error": "invalid_token", "error_description": "Invalid access token"},
                {"www-authenticate": 'Bearer error="invalid_token"'},
            )
        return self.unauthorized()

    def _token_owner(self, token: str) -> str | None:
        for known, owner in self.tokens.items():
            if hmac.compare_digest(known.encode("utf-8"), token.encode("utf-8")):
                return owner
        return None

    def unauthorized(self, message: str = "Unauthorized", api_token: bool = False) -> Refusal:
        headers = {"www-authenticate": "ApiToken" if api_token else 'Basic realm="DHIS2"'}
        return Refusal(401, web_message(401, message), headers)

    def expired(self) -> Refusal:
        return self.unauthorized("Account credentials have expired")

    # -- /uaa/oauth/token ------------------------------------------------------------------
    def issue_token(
        self, headers: Mapping[str, str], form: Mapping[str, str]
    ) -> tuple[int, dict[str, Any]]:
        """The legacy spring-security-oauth2 token endpoint (password and refresh grants)."""
        client = self._client(headers.get("authorization", ""))
        if client is None:
            return 401, {"error": "unauthorized", "error_description": "Bad client credentials"}
        grant = form.get("grant_type", "")
        if grant == "password":
            username = form.get("username", "")
            if not self._password_ok(username, form.get("password", "")):
                return 400, {"error": "invalid_grant", "error_description": "Bad credentials"}
        elif grant == "refresh_token":
            with self._lock:
                found = self._refresh.get(form.get("refresh_token", ""))
            if found is None:
                return 400, {"error": "invalid_grant", "error_description": "Invalid refresh token"}
            username = found
        else:
            return 400, {
                "error": "unsupported_grant_type",
                "error_description": f"Unsupported grant type: {grant}",
            }
        access, refresh = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
        with self._lock:
            self._bearer[access] = (username, time.monotonic() + TOKEN_TTL_S)
            self._refresh[refresh] = username
        return 200, {
            "access_token": access,
            "token_type": "bearer",
            "refresh_token": refresh,
            "expires_in": TOKEN_TTL_S,
            "scope": "ALL",
        }

    def _client(self, header: str) -> str | None:
        scheme, _, credentials = header.partition(" ")
        if scheme.lower() != "basic":
            return None
        try:
            decoded = base64.b64decode(credentials.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return None
        cid, _, secret = decoded.partition(":")
        expected = self.oauth_clients.get(cid)
        if expected is None or not hmac.compare_digest(expected.encode(), secret.encode()):
            return None
        return cid
