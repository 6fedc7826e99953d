"""Client logic against httpx.MockTransport: retries, auth refusals, payloads, async, OAuth2."""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx
import pytest

from dhispatch.runtime.dhis2 import AuthenticationError
from dhispatch.runtime.dhis2 import BasicAuth
from dhispatch.runtime.dhis2 import ConfigError
from dhispatch.runtime.dhis2 import DataValue
from dhispatch.runtime.dhis2 import Dhis2Client
from dhispatch.runtime.dhis2 import HttpRefusal
from dhispatch.runtime.dhis2 import IdSchemes
from dhispatch.runtime.dhis2 import NetworkError
from dhispatch.runtime.dhis2 import OAuth2PasswordAuth
from dhispatch.runtime.dhis2 import RetryPolicy
from dhispatch.runtime.dhis2 import Secret
from dhispatch.runtime.dhis2 import ServerError
from dhispatch.runtime.dhis2 import TokenAuth
from dhispatch.runtime.dhis2 import auth_from_plan
from dhispatch.runtime.dhis2 import batches_by_org_unit
from dhispatch.runtime.plan import AuthSettings

Handler = Callable[[httpx.Request], httpx.Response]
OK_SUMMARY = {
    "responseType": "ImportSummary",
    "status": "SUCCESS",
    "importCount": {"imported": 1, "updated": 0, "ignored": 0, "deleted": 0},
    "conflicts": [],
}
INFO = {"version": "2.40.4", "revision": "abc", "calendar": "iso8601", "serverDate": "2026-11-25"}


def make_client(handler: Handler, sleeps: list[float], **kw: object) -> Dhis2Client:
    return Dhis2Client(
        "https://dhis2.test/dhis",
        kw.pop("auth", BasicAuth("admin", Secret("district"))),  # type: ignore[arg-type]
        transport=httpx.MockTransport(handler),
        retry=RetryPolicy(attempts=4, base_delay=0.1, max_delay=5.0, jitter=0.5),
        sleep=sleeps.append,
        **kw,  # type: ignore[arg-type]
    )


def test_5xx_is_retried_with_backoff_then_succeeds() -> None:
    calls: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        if len(calls) <= 2:
            return httpx.Response(503, json={"message": "busy"})
        return httpx.Response(200, json=INFO)

    sleeps: list[float] = []
    with make_client(handler, sleeps) as client:
        assert client.system_info().version == "2.40.4"
    assert len(calls) == 3 and len(sleeps) == 2
    assert 0.05 <= sleeps[0] <= 0.15 and 0.1 <= sleeps[1] <= 0.3  # base·2^n ± 50 %
    assert calls[0].url.path == "/dhis/api/system/info"
    assert calls[0].headers["X-Requested-With"] == "XMLHttpRequest"
    assert calls[0].headers["Accept"] == "application/json"


def test_429_honours_retry_after_and_gives_up_as_server_error() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(429, headers={"Retry-After": "3"}, json={"message": "slow down"})

    sleeps: list[float] = []
    with make_client(handler, sleeps) as client, pytest.raises(ServerError) as info:
        client.system_info()
    assert sleeps == [3.0, 3.0, 3.0]
    assert info.value.status == 429 and "gave up after 4 attempts" in str(info.value)


@pytest.mark.parametrize("status", [400, 403, 404, 409, 415])
def test_other_4xx_are_never_retried(status: int) -> None:
    calls: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        return httpx.Response(status, json={"message": "no"})

    with make_client(handler, []) as client, pytest.raises(HttpRefusal) as refused:
        client.me()
    assert len(calls) == 1 and refused.value.status == status


@pytest.mark.parametrize(
    "response",
    [
        httpx.Response(401, json={"httpStatusCode": 401, "message": "Unauthorized"}),
        httpx.Response(302, headers={"Location": "/dhis-web-commons/security/login.action"}),
        httpx.Response(200, text="<html>login</html>", headers={"Content-Type": "text/html"}),
    ],
)
def test_auth_refusals_are_final_after_one_request(response: httpx.Response) -> None:
    calls: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        return response

    with make_client(handler, []) as client, pytest.raises(AuthenticationError) as info:
        client.system_info()
    assert len(calls) == 1
    assert str(info.value).startswith("Authentication failed")


def test_timeouts_are_retried_then_reported_as_network_error() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    sleeps: list[float] = []
    with make_client(handler, sleeps) as client, pytest.raises(NetworkError) as info:
        client.system_info()
    assert len(sleeps) == 3
    assert "did not answer GET /api/system/info" in str(info.value)


def test_push_sends_data_set_coc_and_dhis2_strings() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.path.endswith("/categoryOptionCombos"):
            assert request.url.params["filter"] == "name:eq:default"
            combos = [{"id": "HllvX50cXC0", "code": "default", "name": "default"}]
            return httpx.Response(200, json={"categoryOptionCombos": combos})
        return httpx.Response(200, json=OK_SUMMARY)

    values = [
        DataValue("deA", "202401", "OU1", None, "12.0"),
        DataValue("deB", "202401", "OU1", "cocX", "1e3"),
    ]
    with make_client(handler, []) as client:
        schemes = IdSchemes(data_element="CODE", org_unit="UID", category_option_combo="UID")
        result = client.push(values, data_set="dsA", id_schemes=schemes, dry_run=True)
        client.push(values[:1], data_set="dsA", id_schemes=schemes)
    assert result.ok and result.imported == 1
    post = seen[1]
    assert post.method == "POST" and post.url.path == "/dhis/api/dataValueSets"
    assert post.url.params["dataElementIdScheme"] == "CODE"
    assert post.url.params["dryRun"] == "true"
    assert "async" not in post.url.params
    body = json.loads(post.content)
    assert body["dataSet"] == "dsA"
    assert body["dataValues"] == [
        {"dataElement": "deA", "period": "202401", "orgUnit": "OU1",
         "categoryOptionCombo": "HllvX50cXC0", "value": "12"},
        {"dataElement": "deB", "period": "202401", "orgUnit": "OU1",
         "categoryOptionCombo": "cocX", "value": "1000"},
    ]  # fmt: skip
    # The default combo is looked up once, not per push.
    assert sum(1 for r in seen if r.url.path.endswith("/categoryOptionCombos")) == 1


def test_default_coc_by_code_scheme() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/categoryOptionCombos"):
            combos = [{"id": "HllvX50cXC0", "code": "default", "name": "default"}]
            return httpx.Response(200, json={"categoryOptionCombos": combos})
        body = json.loads(request.content)
        assert body["dataValues"][0]["categoryOptionCombo"] == "default"
        return httpx.Response(200, json=OK_SUMMARY)

    with make_client(handler, []) as client:
        schemes = IdSchemes(category_option_combo="CODE")
        values = [DataValue("a", "202401", "o", None, "1")]
        assert client.push(values, data_set="ds", id_schemes=schemes).ok


def test_async_push_polls_the_task_then_reads_the_summary() -> None:
    polls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path.endswith("/dataValueSets"):
            assert request.url.params["async"] == "true"
            job = {
                "id": "JOB12345678",
                "jobType": "DATAVALUE_IMPORT",
                "relativeNotifierEndpoint": "/api/system/tasks/DATAVALUE_IMPORT/JOB12345678",
            }
            return httpx.Response(200, json={"status": "OK", "response": job})  # fmt: skip
        if "/system/tasks/" in path:
            polls.append(path)
            done = len(polls) >= 3
            return httpx.Response(200, json=[{"message": "Importing", "completed": done}])
        if "/system/taskSummaries/" in path:
            polls.append(path)
            if len(polls) == 4:
                return httpx.Response(200, content=b"")
            return httpx.Response(200, json=OK_SUMMARY)
        raise AssertionError(path)

    sleeps: list[float] = []
    with make_client(handler, sleeps, async_threshold=1, poll_interval=0.01) as client:
        values = [DataValue(f"de{i}", "202401", "OU1", "coc", str(i)) for i in range(3)]
        result = client.push(values, data_set="ds")
    assert result.status == "SUCCESS" and result.size == 3
    assert polls[0] == "/dhis/api/system/tasks/DATAVALUE_IMPORT/JOB12345678"
    assert len(sleeps) == 3  # two unfinished task polls, one empty summary


def test_oauth2_fetches_a_token_and_refreshes_it_once_on_401() -> None:
    tokens: list[str] = []
    issued = iter(["tok-1", "tok-2"])

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/uaa/oauth/token"):
            form = dict(httpx.QueryParams(request.content.decode()))
            assert form["grant_type"] == "password" and form["username"] == "admin"
            assert request.headers["Authorization"].startswith("Basic ")
            return httpx.Response(200, json={"access_token": next(issued), "token_type": "bearer"})
        tokens.append(request.headers["Authorization"])
        if request.headers["Authorization"] == "Bearer tok-1":
            return httpx.Response(401, json={"message": "expired"})
        return httpx.Response(200, json=INFO)

    auth = OAuth2PasswordAuth("msupply", Secret("cs"), "admin", Secret("pw"))
    with make_client(handler, [], auth=auth) as client:
        assert client.system_info().version == "2.40.4"
    assert tokens == ["Bearer tok-1", "Bearer tok-2"]


def test_oauth2_wrong_password_is_an_auth_failure() -> None:
    calls: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        return httpx.Response(400, json={"error": "invalid_grant"})

    auth = OAuth2PasswordAuth("msupply", Secret("cs"), "admin", Secret("wrong"))
    with make_client(handler, [], auth=auth) as client, pytest.raises(AuthenticationError):
        client.system_info()
    assert len(calls) == 1


def test_token_auth_header_and_plan_auth_resolution() -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers["Authorization"])
        return httpx.Response(200, json=INFO)

    auth = auth_from_plan(
        AuthSettings.from_json({"kind": "token", "token": {"env": "PAT"}}), {"PAT": "d2p_abc"}
    )
    assert isinstance(auth, TokenAuth)
    with make_client(handler, [], auth=auth) as client:
        client.system_info()
    assert seen == ["ApiToken d2p_abc"]
    with pytest.raises(ConfigError, match="environment variable DHIS2_PASSWORD is not set"):
        auth_from_plan(
            AuthSettings.from_json(
                {"kind": "basic", "user": {"value": "u"}, "password": {"env": "DHIS2_PASSWORD"}}
            ),
            {},
        )


def test_batches_keep_org_units_together() -> None:
    values = [DataValue(f"de{i}", "202401", f"OU{i % 3}", None, "1") for i in range(9)]
    batches = batches_by_org_unit(values, 6)
    assert [len(b) for b in batches] == [6, 3]
    assert {v.org_unit for v in batches[1]} == {"OU2"}
    big = [DataValue(f"de{i}", "202401", "OU1", None, "1") for i in range(5)]
    assert [len(b) for b in batches_by_org_unit(big, 2)] == [2, 2, 1]
    with pytest.raises(ValueError):
        batches_by_org_unit(values, 0)


def test_credentials_in_the_url_are_refused_without_echoing_them() -> None:
    with pytest.raises(ConfigError) as info:
        Dhis2Client("https://admin:s3cr3t-pw@dhis2.test", BasicAuth("a", Secret("b")))
    assert "s3cr3t-pw" not in str(info.value) and "must not contain credentials" in str(info.value)
