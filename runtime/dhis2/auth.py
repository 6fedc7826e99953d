"""Credentials for DHIS2: basic, personal access token and OAuth2 password grant.

Secrets are resolved from the environment as late as possible (when the client is built), kept in
a ``Secret`` whose ``repr``/``str`` hide the value, and turned into an ``Authorization`` header
only at the moment a request is sent.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field

from dhispatch.runtime.dhis2.errors import ConfigError
from dhispatch.runtime.plan import AuthSettings
from dhispatch.runtime.plan import ValueOrEnv

REDACTED = "***"


@dataclass(frozen=True, slots=True)
class Secret:
    """A credential string that never prints itself."""

    _value: str = field(repr=False)

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return f"Secret({REDACTED})"

    def __str__(self) -> str:
        return REDACTED


class Auth:
    """Base of the three schemes: yields the ``Authorization`` header and the secrets to scrub."""

    kind = "none"
    user: str | None = None

    def header(self) -> str | None:
        """The header value, or None when a token must be fetched first (OAuth2)."""
        raise NotImplementedError

    def secrets(self) -> tuple[str, ...]:
        """Every secret string this auth holds, so that any echoed text can be scrubbed."""
        raise NotImplementedError

    def can_refresh(self) -> bool:
        """True when a 401 may mean an expired token worth fetching again (once)."""
        return False

    def invalidate(self) -> None:
        """Forget a cached token (OAuth2); nothing for static credentials."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}(kind={self.kind!r}, user={self.user!r})"


class BasicAuth(Auth):
    kind = "basic"

    def __init__(self, user: str, password: Secret) -> None:
        self.user = user
        self._password = password

    def header(self) -> str:
        raw = f"{self.user}:{self._password.reveal()}".encode()
        return "Basic " + base64.b64encode(raw).decode("ascii")

    def secrets(self) -> tuple[str, ...]:
        return _with_encodings(self._password.reveal(), self.header().removeprefix("Basic "))


class TokenAuth(Auth):
    """A DHIS2 personal access token (2.37+): ``Authorization: ApiToken <key>``."""

    kind = "token"

    def __init__(self, token: Secret) -> None:
        self._token = token

    def header(self) -> str:
        return f"ApiToken {self._token.reveal()}"

    def secrets(self) -> tuple[str, ...]:
        return _with_encodings(self._token.reveal())


class OAuth2PasswordAuth(Auth):
    """OAuth2 password grant against ``/uaa/oauth/token`` (DHIS2 ≤ 2.41): "auth in the body"."""

    kind = "oauth2"
    token_path = "/uaa/oauth/token"

    def __init__(self, client_id: str, client_secret: Secret, user: str, password: Secret) -> None:
        self.client_id = client_id
        self.user = user
        self._client_secret = client_secret
        self._password = password
        self._access_token: Secret | None = None

    def header(self) -> str | None:
        return None if self._access_token is None else f"Bearer {self._access_token.reveal()}"

    def token_request(self) -> tuple[dict[str, str], str]:
        """The form body and the client's Basic header for the token endpoint."""
        client = f"{self.client_id}:{self._client_secret.reveal()}".encode()
        form = {
            "grant_type": "password",
            "username": self.user or "",
            "password": self._password.reveal(),
        }
        return form, "Basic " + base64.b64encode(client).decode("ascii")

    def set_token(self, token: str) -> None:
        self._access_token = Secret(token)

    def can_refresh(self) -> bool:
        return self._access_token is not None

    def invalidate(self) -> None:
        self._access_token = None

    def secrets(self) -> tuple[str, ...]:
        found = [self._client_secret.reveal(), self._password.reveal()]
        if self._access_token is not None:
            found.append(self._access_token.reveal())
        return _with_encodings(*found)


def _with_encodings(*secrets: str) -> tuple[str, ...]:
    # A secret may come back URL-encoded (form bodies) or base64-encoded (headers echoed).
    from urllib.parse import quote_plus

    out: set[str] = set()
    for s in secrets:
        if s:
            out.update({s, quote_plus(s), base64.b64encode(s.encode()).decode("ascii")})
    return tuple(sorted(out, key=len, reverse=True))


def scrub(text: str, auth: Auth | None) -> str:
    """Replace every secret of ``auth`` in ``text`` (server messages may echo what we sent)."""
    if auth is None:
        return text
    for secret in auth.secrets():
        if len(secret) >= 3:
            text = text.replace(secret, REDACTED)
    return text


def _resolve(ref: ValueOrEnv | None, env: Mapping[str, str], what: str) -> str:
    if ref is None or (ref.value is None and ref.env is None):
        raise ConfigError(f"the {what} of the DHIS2 target is neither a value nor an env reference")
    value = ref.resolve(env)
    if value is None:
        raise ConfigError(f"environment variable {ref.env} is not set (it holds the DHIS2 {what})")
    return value


def auth_from_plan(auth: AuthSettings, env: Mapping[str, str]) -> Auth:
    """Build the auth of a plan's ``target.auth``, reading its env references now."""
    if auth.kind == "basic":
        return BasicAuth(
            _resolve(auth.user, env, "user name"),
            Secret(_resolve(auth.password, env, "password")),
        )
    if auth.kind == "token":
        return TokenAuth(Secret(_resolve(auth.token, env, "personal access token")))
    if auth.kind == "oauth2":
        return OAuth2PasswordAuth(
            _resolve(auth.client, env, "OAuth2 client id"),
            Secret(_resolve(auth.secret, env, "OAuth2 client secret")),
            _resolve(auth.user, env, "user name"),
            Secret(_resolve(auth.password, env, "password")),
        )
    raise ConfigError(f"unknown auth kind {auth.kind!r} in the plan's target")
