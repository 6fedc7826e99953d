"""The DHIS2 Web API client: authentication, retries, pushes of data value sets, metadata reads.

It never follows redirects (a redirect is DHIS2 sending us to its login page), refuses plain
http to another machine unless the plan says ``insecure``, retries only transient failures,
gives every request a total deadline (retries included) and gives up at once when asked to
stop, sends ``dataSet``, ``categoryOptionCombo`` and the plan's attribute option combo on every
push, and reads the import summary of any DHIS2 generation into one ``ImportResult``; an error
answer without one is an error, said for what it is (``refusals``). Nothing it logs or raises
contains a secret: messages are built from paths and statuses, and any echoed server text is
scrubbed.
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING
from typing import Any

import httpx

from dhispatch.runtime.dhis2.auth import Auth
from dhispatch.runtime.dhis2.auth import OAuth2PasswordAuth
from dhispatch.runtime.dhis2.auth import auth_from_plan
from dhispatch.runtime.dhis2.auth import scrub
from dhispatch.runtime.dhis2.errors import AuthenticationError
from dhispatch.runtime.dhis2.errors import Cancelled
from dhispatch.runtime.dhis2.errors import ConfigError
from dhispatch.runtime.dhis2.errors import Dhis2Error
from dhispatch.runtime.dhis2.errors import NetworkError
from dhispatch.runtime.dhis2.errors import ProtocolError
from dhispatch.runtime.dhis2.errors import ServerError
from dhispatch.runtime.dhis2.exchange import SocketRegistry
from dhispatch.runtime.dhis2.exchange import exchange
from dhispatch.runtime.dhis2.models import DataValue
from dhispatch.runtime.dhis2.models import IdSchemes
from dhispatch.runtime.dhis2.models import ImportResult
from dhispatch.runtime.dhis2.models import Me
from dhispatch.runtime.dhis2.models import SystemInfo
from dhispatch.runtime.dhis2.numbers import dhis2_value
from dhispatch.runtime.dhis2.numbers import is_canonical
from dhispatch.runtime.dhis2.refusals import refusal
from dhispatch.runtime.dhis2.results import find_summary
from dhispatch.runtime.dhis2.results import parse_import
from dhispatch.runtime.dhis2.retry import RetryPolicy
from dhispatch.runtime.dhis2.retry import is_retryable_status
from dhispatch.runtime.dhis2.retry import parse_retry_after
from dhispatch.runtime.plan.urls import cleartext_host

if TYPE_CHECKING:
    from dhispatch.runtime.plan import Target

log = logging.getLogger("dhispatch.dhis2")
log.addHandler(logging.NullHandler())  # a library: the application decides what to show

ASYNC_THRESHOLD = 10_000  # values per push above which the import runs as a server task
TIMEOUT = 30.0  # seconds one socket operation (connect, one read, one write) may take
DEADLINE = 120.0  # seconds one request may take in all: every attempt, backoff included
STOP_GRACE = 2.0  # seconds an exchange in flight may still take once a stop is requested


def batches_by_org_unit(values: Iterable[DataValue], max_size: int) -> list[list[DataValue]]:
    """Split values into batches of at most ``max_size``, keeping each org unit's values together
    (an org unit spans batches only when it alone exceeds ``max_size``)."""
    if max_size < 1:
        raise ValueError("max_size must be at least 1")
    groups: dict[str, list[DataValue]] = {}
    for value in values:
        groups.setdefault(value.org_unit, []).append(value)
    batches: list[list[DataValue]] = []
    current: list[DataValue] = []
    for group in groups.values():
        if len(current) + len(group) > max_size and current:
            batches.append(current)
            current = []
        for start in range(0, len(group), max_size):
            chunk = group[start : start + max_size]
            if len(current) + len(chunk) > max_size:
                batches.append(current)
                current = []
            current.extend(chunk)
    if current:
        batches.append(current)
    return batches


@dataclass(frozen=True, slots=True)
class PushRequest:
    """One data value set ready to send: its values, query parameters and JSON body."""

    values: Sequence[DataValue]
    params: dict[str, str]
    body: bytes
    run_async: bool


class Dhis2Client:
    """A synchronous client for one DHIS2 server; use it as a context manager."""

    def __init__(
        self,
        base_url: str,
        auth: Auth,
        *,
        insecure: bool = False,
        timeout: float = TIMEOUT,
        deadline: float = DEADLINE,
        cancel: threading.Event | None = None,
        retry: RetryPolicy | None = None,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] | None = None,
        rng: random.Random | None = None,
        async_threshold: int = ASYNC_THRESHOLD,
        poll_interval: float = 0.5,
        poll_timeout: float = 900.0,
    ) -> None:
        if httpx.URL(base_url).userinfo:
            # Credentials in the URL would end up in every message that names the server.
            raise ConfigError("the DHIS2 URL must not contain credentials; use the spec's auth")
        host = cleartext_host(base_url, insecure)
        if host is not None:
            # The compiler's E302 rule, enforced where the credentials leave: a plan edited or
            # generated elsewhere must not send them in clear text either.
            raise ConfigError(
                f"refusing plain http to {host}: the credentials would travel unencrypted; "
                "use https (or mark the target insecure in the spec if you really must)"
            )
        self.base_url = base_url.rstrip("/")
        self.auth = auth
        self.retry = retry or RetryPolicy()
        self.timeout = timeout
        self.deadline = deadline
        self.requests_sent = 0
        self._cancel = cancel
        self._sleep = sleep or (time.sleep if cancel is None else _waiter(cancel))
        self._sockets = SocketRegistry()
        self._rng = rng or random.Random()
        self._async_threshold = async_threshold
        self._poll_interval = poll_interval
        self._poll_timeout = poll_timeout
        self._default_coc: dict[str, str] = {}
        self._combo_codes: dict[str, str] = {}
        self._http = httpx.Client(
            base_url=self.base_url,
            timeout=timeout,
            follow_redirects=False,
            transport=transport,
            headers={"Accept": "application/json", "X-Requested-With": "XMLHttpRequest"},
        )

    @classmethod
    def for_target(cls, target: Target, env: Mapping[str, str], **options: Any) -> Dhis2Client:
        """The client of a plan's target: its URL, its credentials read from ``env`` now, and
        its ``insecure`` flag (``options`` are the constructor's keyword arguments)."""
        auth = auth_from_plan(target.auth, env)
        return cls(target.url, auth, insecure=target.insecure, **options)

    def __enter__(self) -> Dhis2Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def __repr__(self) -> str:
        return f"Dhis2Client({self.base_url!r}, auth={self.auth!r})"

    # -- identity -------------------------------------------------------------------------------

    def system_info(self) -> SystemInfo:
        body = self._get_json(
            "/api/system/info",
            {"fields": "version,revision,calendar,serverDate,serverTimeZoneId,contextPath"},
        )
        version = body.get("version")
        if not isinstance(version, str):
            raise ProtocolError("DHIS2's /api/system/info has no version")
        return SystemInfo(
            version=version,
            revision=_opt_str(body.get("revision")),
            calendar=_opt_str(body.get("calendar")),
            server_date=_opt_str(body.get("serverDate")),
            server_time_zone=_opt_str(body.get("serverTimeZoneId")),
        )

    def me(self) -> Me:
        body = self._get_json(
            "/api/me",
            {"fields": "id,username,userCredentials[username],authorities,"
             "organisationUnits[id,code],dataSets"},
        )  # fmt: skip
        username = body.get("username")
        if not isinstance(username, str):
            creds = body.get("userCredentials")
            username = creds.get("username") if isinstance(creds, dict) else None
        if not isinstance(username, str):
            raise ProtocolError("DHIS2's /api/me has no username")
        return Me(
            username=username,
            authorities=tuple(str(a) for a in body.get("authorities") or ()),
            org_units=tuple(
                str(o.get("id")) if isinstance(o, dict) else str(o)
                for o in body.get("organisationUnits") or ()
            ),
            data_sets=tuple(
                str(d.get("id")) if isinstance(d, dict) else str(d)
                for d in body.get("dataSets") or ()
            ),
        )

    # -- pushing --------------------------------------------------------------------------------

    def default_coc(self, scheme: str = "UID") -> str:
        """DHIS2's default category option combo, identified as ``scheme`` asks (looked up once)."""
        if scheme not in self._default_coc:
            body = self._get_json(
                "/api/categoryOptionCombos",
                {"filter": "name:eq:default", "fields": "id,code,name", "paging": "false"},
            )
            combos = body.get("categoryOptionCombos")
            if not isinstance(combos, list) or not combos or not isinstance(combos[0], dict):
                raise ProtocolError("DHIS2 has no category option combo named 'default'")
            first = combos[0]
            ident = first.get("code") if scheme == "CODE" else first.get("id")
            if scheme == "CODE" and not ident:
                ident = "default"
            if not isinstance(ident, str):
                raise ProtocolError("DHIS2's default category option combo has no id")
            self._default_coc[scheme] = ident
        return self._default_coc[scheme]

    def payload(self, values: Sequence[DataValue], data_set: str, id_schemes: IdSchemes) -> bytes:
        """The JSON body of one push: ``dataSet``, every value's COC and, when the plan has one,
        its attribute option combo on every value (≤2.42 lets a header AOC override the values'
        and refuses a bad one for the whole set, E7604; per value it is E7615 for that value)."""
        scheme = id_schemes.category_option_combo
        default = None
        if any(v.category_option_combo is None for v in values):
            default = self.default_coc(scheme)
        if any(v.attribute_option_combo for v in values):
            rows = [self._row(v, default, scheme) for v in values]
        else:  # the common case, at C speed where it can be (a push builds one row per value)
            rows = [
                {"dataElement": de, "period": pe, "orgUnit": ou,
                 "categoryOptionCombo": coc or default,
                 "value": value if is_canonical(value) else dhis2_value(value)}
                for de, pe, ou, coc, value, _ in values
            ]  # fmt: skip
        return json.dumps({"dataSet": data_set, "dataValues": rows}, separators=(",", ":")).encode()

    def _row(self, v: DataValue, default: str | None, scheme: str) -> dict[str, Any]:
        row = {
            "dataElement": v.data_element,
            "period": v.period,
            "orgUnit": v.org_unit,
            "categoryOptionCombo": v.category_option_combo or default,
            "value": dhis2_value(v.value),
        }
        if v.attribute_option_combo:
            row["attributeOptionCombo"] = self.combo_id(v.attribute_option_combo, scheme)
        return row

    def codes_of(self, uids: Iterable[str]) -> dict[str, str]:
        """UID → code of the data elements, org units and option combos among ``uids`` (≤2.36
        conflicts name found objects by UID while the values may have gone by code)."""
        out: dict[str, str] = {}
        for kind in ("dataElements", "organisationUnits", "categoryOptionCombos"):
            left = sorted(u for u in set(uids) if u not in out)
            if not left:
                break
            params = {"filter": f"id:in:[{','.join(left)}]", "fields": "id,code", "paging": "false"}
            for obj in self._get_json(f"/api/{kind}", params).get(kind) or ():
                if isinstance(obj, dict) and isinstance(obj.get("code"), str):
                    out[str(obj.get("id"))] = obj["code"]
        return out

    def combo_id(self, uid: str, scheme: str) -> str:
        """An option combo given by UID, identified as ``scheme`` asks: ≤2.42 reads attribute
        option combos with the category option combo id scheme (``createDataValueSetImport
        Context``), so under CODE the plan's UID is sent as the combo's code (looked up once)."""
        if scheme != "CODE":
            return uid
        if uid not in self._combo_codes:
            path = f"/api/categoryOptionCombos/{uid}"
            body = self._get_json(path, {"fields": "id,code"})
            code = body.get("code")
            if not isinstance(code, str) or not code:
                raise ConfigError(
                    f"attribute option combo {uid} has no code, but the category option combo "
                    "id scheme is code (DHIS2 reads attribute option combos with it): give it a "
                    "code in DHIS2 or use category_option_combo_id_scheme uid"
                )
            self._combo_codes[uid] = code
        return self._combo_codes[uid]

    def push(
        self,
        values: Sequence[DataValue],
        *,
        data_set: str,
        id_schemes: IdSchemes = IdSchemes(),  # noqa: B008 - frozen, so a shared default is safe
        dry_run: bool = False,
        import_strategy: str = "CREATE_AND_UPDATE",
        use_async: bool | None = None,
    ) -> ImportResult:
        """Send one data value set; the caller batches (see ``batches_by_org_unit``)."""
        return self.send_push(
            self.prepare_push(values, data_set=data_set, id_schemes=id_schemes, dry_run=dry_run,
                              import_strategy=import_strategy, use_async=use_async)
        )  # fmt: skip

    def prepare_push(
        self,
        values: Sequence[DataValue],
        *,
        data_set: str,
        id_schemes: IdSchemes = IdSchemes(),  # noqa: B008 - frozen, so a shared default is safe
        dry_run: bool = False,
        import_strategy: str = "CREATE_AND_UPDATE",
        use_async: bool | None = None,
    ) -> PushRequest:
        """The request ``send_push`` sends (built ahead: a run builds the next one while DHIS2
        imports the one before)."""
        run_async = len(values) > self._async_threshold if use_async is None else use_async
        params = {
            "dataElementIdScheme": id_schemes.data_element,
            "orgUnitIdScheme": id_schemes.org_unit,
            "categoryOptionComboIdScheme": id_schemes.category_option_combo,
            "importStrategy": import_strategy,
            "dryRun": "true" if dry_run else "false",
        }
        if any(v.attribute_option_combo for v in values):
            # 2.43+ reads its own scheme for them; ≤2.42 the COC scheme (same value either way)
            params["attributeOptionComboIdScheme"] = id_schemes.category_option_combo
        if run_async:
            params["async"] = "true"
        body = self.payload(values, data_set, id_schemes) if values else b""
        return PushRequest(values, params, body, run_async)

    def send_push(self, request: PushRequest) -> ImportResult:
        """Send a prepared data value set and read DHIS2's import summary."""
        values, run_async = request.values, request.run_async
        if not values:
            return ImportResult("SUCCESS", 200, 0, 0, 0, 0, (), "nothing to push", 0)
        path = "/api/dataValueSets"
        response = self._send(
            "POST", path, params=request.params, content=request.body,
            headers={"Content-Type": "application/json"},
        )  # fmt: skip
        if response.status_code >= 400:
            summary = find_summary(_json_or_none(response))
            if summary is None:
                raise refusal(response, "POST", self.base_url + path, self._scrub)
            return parse_import(response.status_code, summary, len(values), self._scrub)
        parsed = self._json(response, path)
        if run_async and response.status_code == 200 and _is_job(parsed):
            return self._await_job(parsed, values)
        return self._summary(response.status_code, parsed, path, len(values))

    def register_complete(
        self,
        registrations: Sequence[tuple[str, str, str]],
        *,
        data_set: str,
        id_schemes: IdSchemes = IdSchemes(),  # noqa: B008 - frozen, so a shared default is safe
    ) -> ImportResult:
        """Register ``data_set`` complete for each (period, org unit, attribute option combo;
        '' = the default) in one ``POST /api/completeDataSetRegistrations`` (an ImportSummary
        in every generation: bare ≤2.37, a WebMessage from 2.38, 409 when all were ignored)."""
        body = {
            "dataSetIdScheme": "UID",
            "orgUnitIdScheme": id_schemes.org_unit,
            "attributeOptionComboIdScheme": id_schemes.category_option_combo,
            "completeDataSetRegistrations": [
                {"dataSet": data_set, "period": period, "organisationUnit": org_unit,
                 "completed": True, **({"attributeOptionCombo": aoc} if aoc else {})}
                for period, org_unit, aoc in registrations
            ],
        }  # fmt: skip
        path = "/api/completeDataSetRegistrations"
        content = json.dumps(body, separators=(",", ":")).encode("utf-8")
        response = self._send(
            "POST", path, content=content, headers={"Content-Type": "application/json"}
        )
        if response.status_code >= 400:
            summary = find_summary(_json_or_none(response))
            if summary is None:
                raise refusal(response, "POST", self.base_url + path, self._scrub)
            return parse_import(response.status_code, summary, len(registrations), self._scrub)
        return self._summary(response.status_code, self._json(response, path), path,
                             len(registrations))  # fmt: skip

    def _summary(self, status: int, body: Any, path: str, size: int) -> ImportResult:
        summary = find_summary(body)
        if summary is None:
            raise ProtocolError(f"DHIS2 answered {path} (HTTP {status}) without an import summary")
        return parse_import(status, summary, size, self._scrub)

    def _await_job(self, message: dict[str, Any], values: Sequence[DataValue]) -> ImportResult:
        job = message.get("response") or {}
        job_id = job.get("id")
        if not isinstance(job_id, str):
            raise ProtocolError("DHIS2 started an import task without an id")
        job_type = job.get("jobType") or "DATAVALUE_IMPORT"
        tasks = job.get("relativeNotifierEndpoint") or f"/api/system/tasks/{job_type}/{job_id}"
        tasks = _api_path(str(tasks))
        deadline = time.monotonic() + self._poll_timeout
        while True:
            notes = self._json(self._send("GET", tasks), tasks)
            if isinstance(notes, list) and any(
                isinstance(n, dict) and n.get("completed") for n in notes
            ):
                break
            if time.monotonic() > deadline:
                raise NetworkError(f"DHIS2 import task {job_id} did not finish in time")
            self._pause(self._poll_interval, "GET", tasks)
        summary_path = f"/api/system/taskSummaries/{job_type}/{job_id}"
        while True:
            response = self._send("GET", summary_path)
            if response.content.strip():
                body = self._json(response, summary_path)
                return self._summary(200, body, summary_path, len(values))
            if time.monotonic() > deadline:
                raise NetworkError(f"DHIS2 import task {job_id} has no summary")
            self._pause(self._poll_interval, "GET", summary_path)

    # -- metadata -------------------------------------------------------------------------------

    def get_json(
        self, path: str, params: dict[str, str] | None = None, *, missing_ok: bool = False
    ) -> dict[str, Any] | None:
        """A JSON object from ``path`` (``runtime.dhis2.metadata`` reads metadata with it);
        None for a 404 when ``missing_ok``."""
        response = self._send("GET", path, params=params)
        if missing_ok and response.status_code == 404:
            return None
        return self._object(response, path)

    def get_json_list(self, path: str, params: dict[str, str] | None = None) -> list[Any]:
        """A JSON array from ``path`` (e.g. ``/api/dataApprovals/approvals``)."""
        response = self._send("GET", path, params=params)
        self._raise_for_status(response, path)
        body = self._json(response, path)
        if not isinstance(body, list):
            raise ProtocolError(f"DHIS2 answered {path} with JSON that is not a list")
        return body

    # -- transport ------------------------------------------------------------------------------

    def _get_json(self, path: str, params: dict[str, str] | None = None) -> dict[str, Any]:
        return self._object(self._send("GET", path, params=params), path)

    def _object(self, response: httpx.Response, path: str) -> dict[str, Any]:
        self._raise_for_status(response, path)
        body = self._json(response, path)
        if not isinstance(body, dict):
            raise ProtocolError(f"DHIS2 answered {path} with JSON that is not an object")
        return body

    def _raise_for_status(self, response: httpx.Response, path: str) -> None:
        if response.status_code >= 400:
            raise refusal(response, "GET", self.base_url + path, self._scrub)

    def _json(self, response: httpx.Response, path: str) -> Any:
        try:
            return response.json()
        except ValueError:
            kind = response.headers.get("content-type", "no content type")
            raise ProtocolError(
                f"DHIS2 answered {path} with something that is not JSON "
                f"(HTTP {response.status_code}, {kind})"
            ) from None

    def _scrub(self, text: str) -> str:
        return scrub(text, self.auth)

    def _authorization(self) -> str:
        header = self.auth.header()
        if header is None and isinstance(self.auth, OAuth2PasswordAuth):
            self._fetch_token(self.auth)
            header = self.auth.header()
        if header is None:
            raise AuthenticationError("Authentication failed: no credentials to send")
        return header

    def _fetch_token(self, auth: OAuth2PasswordAuth) -> None:
        form, client_header = auth.token_request()
        response = self._send(
            "POST", auth.token_path, data=form, headers={"Authorization": client_header}, auth=False
        )
        if response.status_code in (404, 405):
            raise ConfigError(
                "this DHIS2 has no OAuth2 password grant endpoint (/uaa/oauth/token; DHIS2 2.42+ "
                "removed it): use a personal access token, token(env(...)), or basic auth"
            )
        if response.status_code in (400, 401, 403):
            raise AuthenticationError(
                f"Authentication failed: the OAuth2 token endpoint refused the client or user "
                f"credentials (HTTP {response.status_code})"
            )
        self._raise_for_status(response, auth.token_path)
        body = self._json(response, auth.token_path)
        token = body.get("access_token") if isinstance(body, dict) else None
        if not isinstance(token, str) or not token:
            raise ProtocolError("DHIS2's OAuth2 token answer has no access_token")
        auth.set_token(token)

    def _send(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, str] | None = None,
        content: bytes | None = None,
        data: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
        auth: bool = True,
    ) -> httpx.Response:
        """One logical request within ``deadline`` seconds: retried on transient failures only;
        401 and redirects are final (an expired OAuth2 token is fetched again once)."""
        policy = self.retry
        deadline = time.monotonic() + self.deadline
        refreshed = False
        reason = "no attempt made"
        last_status: int | None = None
        attempt = 0
        while attempt < max(policy.attempts, 1):
            if attempt:  # a stop ends retries; the first attempt goes (its batch is journalled)
                self._check_cancel(method, path)
            attempt += 1
            retry_after: float | None = None
            request_headers = dict(headers or {})
            if auth:
                request_headers["Authorization"] = self._authorization()
            try:
                self.requests_sent += 1
                response = self._exchange(
                    method, path, deadline,
                    params=params, content=content, data=data, headers=request_headers,
                )  # fmt: skip
            except httpx.TimeoutException:
                reason = f"DHIS2 did not answer {method} {path} within {self.timeout:g} s"
                last_status = None
            except httpx.TransportError as exc:
                reason = f"cannot reach DHIS2 at {self.base_url}: {self._network_reason(exc)}"
                last_status = None
            else:
                if response is None:
                    reason = f"DHIS2 did not complete {method} {path} within {self.deadline:g} s"
                    last_status = None
                    break
                status = response.status_code
                log.debug("%s %s -> %s (attempt %d)", method, path, status, attempt)
                if status == 401 and auth:
                    if self.auth.can_refresh() and not refreshed:
                        refreshed = True
                        self.auth.invalidate()
                        attempt -= 1  # a token refresh is not a retry
                        continue
                    raise AuthenticationError(
                        f"Authentication failed: DHIS2 refused the credentials{self._why(response)}"
                    )
                if 300 <= status < 400:
                    where = response.headers.get("location", "elsewhere")
                    raise AuthenticationError(
                        f"Authentication failed: DHIS2 redirected {path} to {self._scrub(where)} "
                        "(a login page; check the URL and credentials)"
                    )
                if not is_retryable_status(status):
                    return self._final(response, path)
                reason = f"DHIS2 answered {method} {path} with HTTP {status}{self._why(response)}"
                last_status = status
                retry_after = parse_retry_after(response.headers.get("retry-after"))
            if attempt < policy.attempts:
                delay = policy.delay(attempt, retry_after, self._rng)
                if time.monotonic() + delay >= deadline:
                    reason += f"; no time left within the {self.deadline:g} s deadline"
                    break
                log.info("retrying %s %s in %.2f s: %s", method, path, delay, reason)
                self._pause(delay, method, path)
        log.info("giving up on %s %s after %d attempts: %s", method, path, attempt, reason)
        if last_status is not None:
            raise ServerError(f"{reason} (gave up after {attempt} attempts)", last_status)
        raise NetworkError(f"{reason} (gave up after {attempt} attempts)")

    def _exchange(
        self, method: str, path: str, deadline: float, **request: Any
    ) -> httpx.Response | None:
        """One HTTP exchange, ended by the deadline (None) or a stop request (Cancelled)."""
        remaining = max(deadline - time.monotonic(), 0.001)
        timeout = httpx.Timeout(min(self.timeout, remaining))
        extensions = {"trace": self._sockets.trace}

        def send() -> httpx.Response:
            return self._http.request(
                method, path, timeout=timeout, extensions=extensions, **request
            )

        return exchange(
            send, self._sockets, what=f"{method} {path}", deadline=deadline, stop=self._cancel,
            grace=STOP_GRACE,
        )  # fmt: skip

    def _check_cancel(self, method: str, path: str) -> None:
        if self._cancel is not None and self._cancel.is_set():
            raise Cancelled(f"stopped before DHIS2 answered {method} {path}")

    def _pause(self, seconds: float, method: str, path: str) -> None:
        """Backoff or polling: a stop request ends it at once, and the request with it."""
        self._sleep(seconds)
        self._check_cancel(method, path)

    def _final(self, response: httpx.Response, path: str) -> httpx.Response:
        """A non-retryable answer: returned as is, unless it is an HTML page answered as a
        success (a login page); an HTML error page is the caller's to say (``refusals``)."""
        if response.status_code < 300 and "text/html" in response.headers.get("content-type", ""):
            raise AuthenticationError(
                f"Authentication failed: DHIS2 answered {path} with an HTML page "
                "(a login page?) instead of JSON"
            )
        return response

    def _why(self, response: httpx.Response) -> str:
        try:
            body = response.json()
        except ValueError:
            return ""
        if isinstance(body, dict) and isinstance(body.get("message"), str):
            return f" ({self._scrub(body['message'])})"
        return ""

    def _network_reason(self, exc: httpx.TransportError) -> str:
        text = str(exc) or type(exc).__name__
        return self._scrub(text)


def _json_or_none(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _waiter(event: threading.Event) -> Callable[[float], None]:
    """A sleep that a stop request cuts short (backoff and polling end at once)."""

    def wait(seconds: float) -> None:
        event.wait(seconds)

    return wait


def _is_job(body: Any) -> bool:
    if not isinstance(body, dict):
        return False
    response = body.get("response")
    return isinstance(response, dict) and (
        response.get("responseType") == "JobConfiguration"
        or "relativeNotifierEndpoint" in response
        or response.get("jobType") is not None
    )


def _api_path(endpoint: str) -> str:
    # relativeNotifierEndpoint is relative to the server's context path, like our base URL.
    index = endpoint.find("/api/")
    return endpoint[index:] if index >= 0 else endpoint


def _opt_str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


__all__ = ["Dhis2Client", "Dhis2Error", "batches_by_org_unit"]
