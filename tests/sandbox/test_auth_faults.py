"""Auth behaviours (§6) and runtime fault modes, over real HTTP on loopback."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest

from dhispatch.runtime.sandbox.server import RunningSandbox
from tests.sandbox.helpers import CLIENT
from tests.sandbox.helpers import PASSWORDS
from tests.sandbox.helpers import TOKEN
from tests.sandbox.helpers import client
from tests.sandbox.helpers import sandbox


@pytest.fixture(scope="module")
def sb40() -> Iterator[RunningSandbox]:
    with sandbox("2.40") as sb:
        yield sb


@pytest.fixture(autouse=True)
def _no_faults(sb40: RunningSandbox) -> Iterator[None]:
    sb40.clear_faults()
    yield
    sb40.clear_faults()


@pytest.mark.parametrize(
    ("version", "login"),
    [
        ("2.36", "/dhis-web-commons/security/login.action"),
        ("2.40", "/dhis-web-commons/security/login.action"),
        ("2.41", "/dhis-web-login"),
        ("2.43", "/login/"),
    ],
)
def test_no_credentials_redirects_to_the_versions_login_page(version: str, login: str) -> None:
    with sandbox(version) as sb:
        plain = httpx.get(sb.url + "/api/system/info")
        assert plain.status_code == 302
        assert plain.headers["location"] == login
        # a client that follows the redirect ends on 200 text/html: the pitfall of §6
        followed = httpx.get(sb.url + "/api/system/info", follow_redirects=True)
        assert followed.status_code == 200
        assert followed.headers["content-type"].startswith("text/html")
        xhr = httpx.get(sb.url + "/api/me", headers={"X-Requested-With": "XMLHttpRequest"})
        assert xhr.status_code == 401
        assert xhr.json()["httpStatusCode"] == 401


def test_basic_auth_good_and_bad(sb40: RunningSandbox) -> None:
    with client(sb40) as http:
        me = http.get(
            "/api/me", params={"fields": "id,username,authorities,organisationUnits[id,code]"}
        )
        assert me.status_code == 200
        assert me.json() == {
            "id": "uAdmin00001",
            "username": "admin",
            "authorities": ["ALL"],
            "organisationUnits": [{"id": "ouRootTest1", "code": "ROOT"}],
        }
        before = sb40.request_count()
        bad = http.get("/api/system/info", auth=("admin", "nope"))
        assert bad.status_code == 401
        assert bad.json()["message"] == "Unauthorized"
        assert "nope" not in bad.text
        assert sb40.request_count() == before + 1  # one refusal, no redirect loop
        assert http.get("/api/me/authorization/F_DATAVALUE_ADD").json() is True
        info = http.get("/api/system/info", params={"fields": "version,calendar"}).json()
        assert info == {"version": "2.40.4", "calendar": "iso8601"}
    with client(sb40, "clerk") as http:
        assert http.get("/api/me/authorization/F_METADATA_ADD").json() is False


def test_personal_access_tokens() -> None:
    for version in ("2.37", "2.43"):
        with sandbox(version) as sb:
            ok = httpx.get(sb.url + "/api/me", headers={"Authorization": f"ApiToken {TOKEN}"})
            assert ok.status_code == 200 and ok.json()["username"] == "admin"
            bad = httpx.get(sb.url + "/api/me", headers={"Authorization": "ApiToken d2p_unknown"})
            assert bad.status_code == 401
            assert bad.json()["message"] == "The API token does not exists."
            assert bad.headers["www-authenticate"].startswith("ApiToken")
    with sandbox("2.36") as sb:  # PATs arrived in 2.37
        old = httpx.get(sb.url + "/api/me", headers={"Authorization": f"ApiToken {TOKEN}"})
        assert old.status_code == 401


def test_oauth2_password_grant_until_2_41(sb40: RunningSandbox) -> None:
    form = {"grant_type": "password", "username": "admin", "password": PASSWORDS["admin"]}
    token = httpx.post(sb40.url + "/uaa/oauth/token", auth=CLIENT, data=form)
    assert token.status_code == 200
    body = token.json()
    assert body["token_type"] == "bearer" and body["scope"] == "ALL" and body["expires_in"] > 0
    me = httpx.get(
        sb40.url + "/api/me", headers={"Authorization": f"Bearer {body['access_token']}"}
    )
    assert me.status_code == 200 and me.json()["username"] == "admin"
    wrong_client = httpx.post(sb40.url + "/uaa/oauth/token", auth=("msupply", "x"), data=form)
    assert wrong_client.status_code == 401
    wrong_user = httpx.post(
        sb40.url + "/uaa/oauth/token", auth=CLIENT, data={**form, "password": "x"}
    )
    assert wrong_user.status_code == 400 and wrong_user.json()["error"] == "invalid_grant"
    stale = httpx.get(sb40.url + "/api/me", headers={"Authorization": "Bearer not-a-token"})
    assert stale.status_code == 401
    with sandbox("2.42") as sb:  # /uaa removed in 2.42
        gone = httpx.post(sb.url + "/uaa/oauth/token", auth=CLIENT, data=form)
        assert gone.status_code == 404


def test_failing_status_for_the_next_n_requests(sb40: RunningSandbox) -> None:
    sb40.set_faults(status=503, count=2)
    with client(sb40) as http:
        codes = [http.get("/api/system/info").status_code for _ in range(3)]
        assert codes == [503, 503, 200]
        sb40.set_faults(status=429, count=1)
        limited = http.get("/api/system/info")
        assert limited.status_code == 429
        assert limited.headers["retry-after"] == "1"
        assert limited.json()["httpStatusCode"] == 429


def test_dropped_connection_and_latency(sb40: RunningSandbox) -> None:
    sb40.set_faults(drop=1)
    with client(sb40) as http:
        with pytest.raises(httpx.RemoteProtocolError):
            http.get("/api/system/info")
        assert http.get("/api/system/info").status_code == 200
        sb40.set_faults(latency_ms=150, count=1)
        start = time.monotonic()
        assert http.get("/api/system/info").status_code == 200
        slow = time.monotonic() - start
        start = time.monotonic()
        http.get("/api/system/info")
        fast = time.monotonic() - start
        assert slow >= 0.15 > fast


def test_expired_credentials_until_cleared_via_admin_http(sb40: RunningSandbox) -> None:
    admin = sb40.url + "/api/__sandbox/faults"
    assert httpx.post(admin, json={"expire_credentials": True}).status_code == 200
    with client(sb40) as http:
        assert http.get("/api/me").status_code == 401
        assert http.get("/api/me").status_code == 401
        assert httpx.delete(admin).status_code == 200
        assert http.get("/api/me").status_code == 200
    bad = httpx.post(admin, json={"status": 200, "count": 1})
    assert bad.status_code == 400
    stats = httpx.get(sb40.url + "/api/__sandbox/stats").json()
    assert stats["version"] == "2.40.4" and stats["requests"] > 0
