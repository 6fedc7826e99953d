"""The client against the project's DHIS2 sandbox over real loopback HTTP: every fault mode ends
in the right outcome, each response generation reads the same, wrong credentials never loop."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from dhispatch.runtime.dhis2 import AuthenticationError
from dhispatch.runtime.dhis2 import BasicAuth
from dhispatch.runtime.dhis2 import ConfigError
from dhispatch.runtime.dhis2 import DataValue
from dhispatch.runtime.dhis2 import Dhis2Client
from dhispatch.runtime.dhis2 import IdSchemes
from dhispatch.runtime.dhis2 import NetworkError
from dhispatch.runtime.dhis2 import OAuth2PasswordAuth
from dhispatch.runtime.dhis2 import RetryPolicy
from dhispatch.runtime.dhis2 import Secret
from dhispatch.runtime.dhis2 import ServerError
from dhispatch.runtime.dhis2 import ServerVersion
from dhispatch.runtime.dhis2 import TokenAuth
from dhispatch.runtime.dhis2 import reconcile
from dhispatch.runtime.sandbox.server import RunningSandbox as Sandbox
from dhispatch.runtime.sandbox.server import SandboxConfig
from dhispatch.runtime.sandbox.server import start_sandbox
from tests.client import fixtures as fx

PASSWORD = "sandbox-Pw-7731"
TOKEN = "d2p_sandboxTokenForClientTests0000000000000000"
CLIENT_SECRET = "msupply-client-secret"
FAST = RetryPolicy(attempts=4, base_delay=0.01, max_delay=0.05, jitter=0.5)
SCHEMES = IdSchemes()
DS = fx.DATA_SET


def config(version: str) -> SandboxConfig:
    return SandboxConfig(
        metadata=fx.export(),
        version=version,
        users={fx.ADMIN: PASSWORD},
        tokens={TOKEN: fx.ADMIN},
        oauth_clients={"msupply": CLIENT_SECRET},
        today=fx.TODAY,
    )


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with start_sandbox(config("2.40")) as sb:
        yield sb


@pytest.fixture(autouse=True)
def _no_faults_left(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    if "sandbox" in request.fixturenames:
        request.getfixturevalue("sandbox").clear_faults()


def client(sb: Sandbox, auth: object = None, **kw: object) -> Dhis2Client:
    return Dhis2Client(
        sb.url,
        auth or BasicAuth(fx.ADMIN, Secret(PASSWORD)),  # type: ignore[arg-type]
        retry=kw.pop("retry", FAST),  # type: ignore[arg-type]
        **kw,  # type: ignore[arg-type]
    )


def stored(sb: Sandbox, value: DataValue) -> str | None:
    for row in sb.values():
        if (row["dataElement"], row["period"], row["orgUnit"]) == (
            value.data_element, value.period, value.org_unit,
        ):  # fmt: skip
            return str(row["value"])
    return None


def test_identity_with_basic_token_and_oauth2(sandbox: Sandbox) -> None:
    auths = [
        BasicAuth(fx.ADMIN, Secret(PASSWORD)),
        TokenAuth(Secret(TOKEN)),
        OAuth2PasswordAuth("msupply", Secret(CLIENT_SECRET), fx.ADMIN, Secret(PASSWORD)),
    ]
    for auth in auths:
        with client(sandbox, auth) as c:
            assert c.system_info().version.startswith("2.40")
            me = c.me()
            assert me.username == fx.ADMIN and me.can_write_data


def test_503_burst_is_retried_then_succeeds(sandbox: Sandbox) -> None:
    values = [fx.value(1, 1, "11"), fx.value(2, 1, "12")]
    with client(sandbox) as c:
        c.default_coc()  # warm the lookup so the fault hits the push itself
        sandbox.set_faults(status=503, count=2)
        before = sandbox.request_count()
        result = c.push(values, data_set=DS, id_schemes=SCHEMES)
    assert sandbox.request_count() - before == 3
    assert result.ok and result.imported + result.updated + result.ignored == 2
    assert stored(sandbox, values[0]) == "11"


def test_timeout_is_retried_then_succeeds(sandbox: Sandbox) -> None:
    value = fx.value(4, 2, "40")
    with client(sandbox, timeout=0.3) as c:
        c.default_coc()
        sandbox.set_faults(latency_ms=1500, count=1)
        result = c.push([value], data_set=DS, id_schemes=SCHEMES)
    assert result.ok
    assert stored(sandbox, value) == "40"


def test_dropped_connection_is_retried_then_succeeds(sandbox: Sandbox) -> None:
    value = fx.value(5, 2, "50")
    with client(sandbox) as c:
        c.default_coc()
        sandbox.set_faults(drop=1)
        result = c.push([value], data_set=DS, id_schemes=SCHEMES)
    assert result.ok
    assert stored(sandbox, value) == "50"


def test_persistent_5xx_is_recorded_as_failed_with_the_reason(sandbox: Sandbox) -> None:
    with client(sandbox) as c:
        c.default_coc()
        sandbox.set_faults(status=502, count=50)
        before = sandbox.request_count()
        with pytest.raises(ServerError) as info:
            c.push([fx.value(7, 3, "1")], data_set=DS, id_schemes=SCHEMES)
    assert sandbox.request_count() - before == FAST.attempts
    assert info.value.status == 502
    assert "HTTP 502" in str(info.value) and "gave up after 4 attempts" in str(info.value)


def test_unreachable_server_is_a_network_error() -> None:
    with Dhis2Client("http://127.0.0.1:9", BasicAuth("a", Secret("b")), retry=FAST) as c:
        with pytest.raises(NetworkError, match="cannot reach DHIS2 at http://127.0.0.1:9"):
            c.system_info()


@pytest.mark.parametrize(
    "auth",
    [
        BasicAuth(fx.ADMIN, Secret("wrong-password")),
        TokenAuth(Secret("d2p_notAKnownToken000000000000000000000000000")),
        OAuth2PasswordAuth("msupply", Secret(CLIENT_SECRET), fx.ADMIN, Secret("wrong")),
    ],
    ids=["basic", "token", "oauth2"],
)
def test_wrong_credentials_never_loop(sandbox: Sandbox, auth: object) -> None:
    before = sandbox.request_count()
    with client(sandbox, auth) as c, pytest.raises(AuthenticationError):
        c.system_info()
    assert sandbox.request_count() - before <= 1  # the token endpoint may not count as API


def test_expired_credentials_fail_once_without_retrying(sandbox: Sandbox) -> None:
    sandbox.set_faults(expire_credentials=True)
    before = sandbox.request_count()
    with client(sandbox) as c, pytest.raises(AuthenticationError):
        c.push([fx.value(8, 3, "1")], data_set=DS, id_schemes=SCHEMES)
    assert sandbox.request_count() - before == 1


def test_partial_conflict_maps_to_the_value(sandbox: Sandbox) -> None:
    values = [fx.value(10, 4, "3"), DataValue("deNOPE00001", fx.PERIOD, fx.org_unit(4), None, "4"),
              fx.value(11, 4, "5")]  # fmt: skip
    with client(sandbox) as c:
        result = c.push(values, data_set=DS, id_schemes=SCHEMES)
    assert result.http_status == 409 and result.status == "WARNING"
    verdict = reconcile(result, values, ServerVersion.parse("2.40.4"))
    assert (set(verdict.refused), verdict.held, verdict.unconfirmed) == ({1}, {0, 2}, None)
    assert result.conflicts[0].error_code == "E7610"
    assert stored(sandbox, values[2]) == "5"


def test_codes_of_names_the_codes_of_uids(sandbox: Sandbox) -> None:
    de, ou = fx.value(3, 4, "1").data_element, fx.org_unit(4)
    with client(sandbox) as c:
        codes = c.codes_of([de, ou, "xNOSUCHUID1"])
    assert codes == {de: "DE_003", ou: "OU_004"}


def test_async_import_is_polled_to_its_summary(sandbox: Sandbox) -> None:
    values = [fx.value(i, 5, str(i)) for i in (1, 2, 4, 5)]
    with client(sandbox, poll_interval=0.01) as c:
        result = c.push(values, data_set=DS, id_schemes=SCHEMES, use_async=True)
    assert result.ok and result.size == 4
    assert stored(sandbox, values[3]) == "5"


@pytest.mark.parametrize("version", ["2.36", "2.37", "2.40", "2.43"])
def test_all_generations_read_the_same(version: str) -> None:
    good = fx.value(13, 5, "9")
    bad = DataValue("deNOPE00001", fx.PERIOD, fx.org_unit(5), None, "1")
    with start_sandbox(config(version)) as sb, client(sb) as c:
        server = ServerVersion.parse(c.system_info().version)
        assert str(server).startswith(version)
        ok = c.push([good], data_set=DS, id_schemes=SCHEMES)
        assert ok.ok and reconcile(ok, [good], server).held == {0}
        mixed = c.push([good, bad], data_set=DS, id_schemes=SCHEMES)
    assert not mixed.ok
    verdict = reconcile(mixed, [good, bad], server)
    assert set(verdict.refused) == {1} and verdict.unconfirmed is None
    if version == "2.43":  # 2.43+ refuses the whole group; the refusal names the element
        assert (verdict.held, verdict.retry) == (frozenset(), {0})
    else:
        assert verdict.held == {0}
    assert mixed.http_status == (200 if version in ("2.36", "2.37") else 409)


def test_oauth2_password_grant_on_242_is_a_clear_config_error() -> None:
    auth = OAuth2PasswordAuth("msupply", Secret(CLIENT_SECRET), fx.ADMIN, Secret(PASSWORD))
    with start_sandbox(config("2.42")) as sb, client(sb, auth) as c:
        with pytest.raises(ConfigError, match="use a personal access token"):
            c.system_info()
