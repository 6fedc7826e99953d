"""The sandbox's ASGI app: DHIS2 Web API routes, admin routes, async import jobs."""

from __future__ import annotations

import asyncio
import json
import logging
import re
import secrets
import string
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from datetime import UTC
from datetime import date
from datetime import datetime
from functools import partial
from typing import Any
from urllib.parse import parse_qs
from urllib.parse import urlencode

from starlette.applications import Starlette
from starlette.requests import ClientDisconnect
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.responses import JSONResponse
from starlette.responses import PlainTextResponse
from starlette.responses import RedirectResponse
from starlette.responses import Response
from starlette.routing import Route

from dhispatch.runtime.sandbox.approvals import ApprovalError
from dhispatch.runtime.sandbox.approvals import Approvals
from dhispatch.runtime.sandbox.approvals import ApprovalStore
from dhispatch.runtime.sandbox.auth import Authenticator
from dhispatch.runtime.sandbox.auth import Refusal
from dhispatch.runtime.sandbox.completeness import Registrations
from dhispatch.runtime.sandbox.context import ImportContext
from dhispatch.runtime.sandbox.faults import ADMIN_PREFIX
from dhispatch.runtime.sandbox.faults import FaultMiddleware
from dhispatch.runtime.sandbox.faults import Faults
from dhispatch.runtime.sandbox.importer import run_legacy_import
from dhispatch.runtime.sandbox.metadata import COLLECTIONS
from dhispatch.runtime.sandbox.metadata import SINGULAR
from dhispatch.runtime.sandbox.metadata import MetadataIndex
from dhispatch.runtime.sandbox.periods import parse_period
from dhispatch.runtime.sandbox.pipeline import run_pipeline_import
from dhispatch.runtime.sandbox.query import QueryError
from dhispatch.runtime.sandbox.query import matches
from dhispatch.runtime.sandbox.query import order_key
from dhispatch.runtime.sandbox.query import parse_fields
from dhispatch.runtime.sandbox.query import parse_filter
from dhispatch.runtime.sandbox.query import select
from dhispatch.runtime.sandbox.responses import WRAPPER_MESSAGES
from dhispatch.runtime.sandbox.responses import import_response
from dhispatch.runtime.sandbox.responses import summary_json
from dhispatch.runtime.sandbox.responses import web_message
from dhispatch.runtime.sandbox.store import Row
from dhispatch.runtime.sandbox.store import ValueStore
from dhispatch.runtime.sandbox.summary import ImportOptions
from dhispatch.runtime.sandbox.summary import ImportRequestError
from dhispatch.runtime.sandbox.summary import ImportSummary
from dhispatch.runtime.sandbox.users import User
from dhispatch.runtime.sandbox.versions import Version

logger = logging.getLogger("dhispatch.sandbox")
JSON_TYPE = "application/json;charset=UTF-8"
_API_PATH = re.compile(r"^/api/(?:(?P<v>\d{2})/)?(?P<rest>.*?)(?:\.json)?/?$")
JOB_TYPE = "DATAVALUE_IMPORT"


def _hung_up(request: Request) -> Response:
    """A client that closed its connection before sending its whole request (a killed push, a
    timeout): one line, not a traceback; the answer goes nowhere."""
    client = f"{request.client.host}:{request.client.port}" if request.client else "a client"
    logger.warning("sandbox: %s hung up during %s %s before its body arrived; nothing was "
                   "stored", client, request.method, request.url.path)  # fmt: skip
    return Response(status_code=499)


def _json(status: int, body: Any, headers: Mapping[str, str] | None = None) -> Response:
    return JSONResponse(body, status_code=status, headers=dict(headers or {}), media_type=JSON_TYPE)


def _uid() -> str:
    alphabet = string.ascii_letters + string.digits
    return secrets.choice(string.ascii_letters) + "".join(
        secrets.choice(alphabet) for _ in range(10)
    )


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}"


@dataclass
class Job:
    """An async import: notifications (newest first) and, once done, its summary."""

    id: str
    created: datetime
    notifications: list[dict[str, Any]] = field(default_factory=list)
    summary: dict[str, Any] | None = None

    def notify(self, message: str, completed: bool = False, level: str = "INFO") -> None:
        self.notifications.insert(
            0,
            {
                "uid": _uid(),
                "level": level,
                "category": JOB_TYPE,
                "time": _stamp(datetime.now(UTC)),
                "message": message,
                "completed": completed,
            },
        )


class SandboxApp:
    """State shared by the routes: metadata, store, auth, faults, async jobs."""

    def __init__(
        self,
        index: MetadataIndex,
        version: Version,
        store: ValueStore,
        approvals: ApprovalStore,
        auth: Authenticator,
        faults: Faults,
        today: date | None = None,
    ) -> None:
        self.index = index
        self.version = version
        self.store = store
        self.approvals = Approvals(index, approvals)
        self.registrations = Registrations(index)
        self.auth = auth
        self.faults = faults
        self.today = today  # a fixed "today" for tests of period timeliness; None = the clock
        self.jobs: dict[str, Job] = {}
        self.started = datetime.now(UTC)

    def now(self) -> datetime:
        moment = datetime.now(UTC).replace(tzinfo=None)
        if self.today is not None:
            moment = datetime.combine(self.today, moment.time())
        return moment

    def asgi(self) -> FaultMiddleware:
        routes = [
            Route(ADMIN_PREFIX + "/{rest:path}", self.admin, methods=["GET", "POST", "DELETE"]),
            Route("/uaa/oauth/token", self.uaa_token, methods=["POST"]),
            Route("/api/{rest:path}", self.api, methods=["GET", "POST", "PUT", "DELETE"]),
            Route("/{rest:path}", self.other, methods=["GET", "POST"]),
        ]
        return FaultMiddleware(Starlette(routes=routes), self.faults)

    # -- admin (no auth, no faults: it is how tests and the CLI steer the sandbox) ----------
    async def admin(self, request: Request) -> Response:
        what = request.path_params["rest"].strip("/")
        if what == "faults" and request.method == "POST":
            try:
                body = await request.json()
                self.faults.set(**{k: body[k] for k in body})
            except (ValueError, TypeError) as exc:
                return _json(400, web_message(400, f"Invalid fault settings: {exc}"))
            except ClientDisconnect:
                return _hung_up(request)
            return _json(200, self.faults.snapshot())
        if what == "faults" and request.method == "DELETE":
            self.faults.clear()
            return _json(200, self.faults.snapshot())
        if what == "faults":
            return _json(200, self.faults.snapshot())
        if what == "values" and request.method == "GET":
            return _json(200, [row_json(r) for r in self.store.all()])
        if what == "values" and request.method == "DELETE":
            self.store.clear()
            return _json(200, {"deleted": True})
        if what == "stats":
            return _json(
                200,
                {
                    "requests": self.faults.request_count(),
                    "values": self.store.count(),
                    "version": str(self.version),
                },
            )
        return _json(404, web_message(404, f"No sandbox admin endpoint {what!r}"))

    # -- pages outside /api ---------------------------------------------------------------
    async def other(self, request: Request) -> Response:
        path = request.url.path
        if path.rstrip("/") == self.version.login_page.rstrip("/"):
            return HTMLResponse("<!doctype html><title>DHIS2</title><form>Login</form>")
        if path in ("/", ""):
            return RedirectResponse(self.version.login_page, status_code=302)
        return _json(404, web_message(404, "Not Found"))

    async def uaa_token(self, request: Request) -> Response:
        if not self.version.has_uaa:
            return _json(404, web_message(404, "Not Found"))
        # application/x-www-form-urlencoded, parsed here (no multipart dependency needed)
        try:
            text = (await request.body()).decode("utf-8", "replace")
        except ClientDisconnect:
            return _hung_up(request)
        fields = {k: v[0] for k, v in parse_qs(text).items()}
        status, body = self.auth.issue_token(request.headers, fields)
        return _json(status, body)

    # -- the Web API ------------------------------------------------------------------------
    async def api(self, request: Request) -> Response:
        m = _API_PATH.match(request.url.path)
        if m is None:
            return _json(404, web_message(404, "Not Found"))
        versioned = m["v"] is not None
        rest = m["rest"]
        who = self.auth.authenticate(request.headers)
        if isinstance(who, Refusal):
            return _refusal(who)
        if self.faults.credentials_expired:
            return _refusal(self.auth.expired())
        try:
            return await self._route(request, who, rest, versioned)
        except QueryError as exc:
            return _json(400, web_message(400, str(exc)))
        except ClientDisconnect:
            return _hung_up(request)
        except Exception as exc:  # noqa: BLE001 - answer like DHIS2 does, never crash the server
            logger.exception("sandbox error on %s %s", request.method, request.url.path)
            return _json(500, web_message(500, f"{type(exc).__name__}: {exc}"))

    async def _route(self, request: Request, user: User, rest: str, versioned: bool) -> Response:
        parts = rest.split("/") if rest else []
        method = request.method
        if parts == ["system", "info"]:
            return _json(200, self.system_info(request))
        if parts == ["system", "ping"]:
            return PlainTextResponse("pong")
        if parts == ["me"]:
            return _json(200, self.me(request, user))
        if len(parts) == 3 and parts[:2] == ["me", "authorization"]:
            return _json(200, user.has(parts[2]))
        if parts == ["dataApprovals"]:
            return self.data_approvals(request, user)
        if parts == ["completeDataSetRegistrations"]:
            return await self.complete_registrations(request, user)
        if parts in (["dataApprovals", "approvals"], ["dataApprovals", "multiple"]):
            return self.approval_statuses(request, user)
        if parts == ["dataValueSets"] and method == "POST":
            return await self.post_data_values(request, user, versioned)
        if parts == ["dataValueSets"] and method == "GET":
            return self.export_data_values(request, user)
        if parts[:2] == ["system", "tasks"] and len(parts) >= 3:
            return self.tasks(parts[2], parts[3] if len(parts) > 3 else None)
        if parts[:2] == ["system", "taskSummaries"] and len(parts) == 4:
            return self.task_summary(parts[2], parts[3])
        if parts and parts[0] in COLLECTIONS and method == "GET":
            if len(parts) == 1:
                return self.list_objects(request, parts[0])
            if len(parts) == 2:
                return self.get_object(request, parts[0], parts[1])
        return _json(404, web_message(404, "Not Found"))

    def system_info(self, request: Request) -> dict[str, Any]:
        base = str(request.base_url).rstrip("/")
        now = self.now()  # a pinned "today" is the server's date, as DHIS2's is its own
        info: dict[str, Any] = {
            "contextPath": base,
            "userAgent": request.headers.get("user-agent", ""),
            "calendar": "iso8601",
            "dateFormat": "yyyy-mm-dd",
            "serverDate": _stamp(now),
            "serverTimeZoneId": "Etc/UTC",
            "serverTimeZoneDisplayName": "Coordinated Universal Time",
            "sessionTimeout": 3600,
            "version": str(self.version),
            "revision": "5andb0x",
            "buildTime": "2026-01-01T00:00:00.000",
            "systemId": "d2e5f5e1-5a4d-4c7b-9c8e-5a4d4c7b9c8e",
            "systemName": "dhispatch DHIS2 sandbox",
            "instanceBaseUrl": base,
            "emailConfigured": False,
            "isMetadataVersionEnabled": False,
            "isMetadataSyncEnabled": False,
        }
        wanted = request.query_params.get("fields")
        if wanted and wanted not in ("*", ":all"):
            keys = [k.strip() for k in wanted.split(",")]
            info = {k: info[k] for k in keys if k in info}
        return info

    def me(self, request: Request, user: User) -> dict[str, Any]:
        ous = [{"id": uid} for uid in user.org_units]
        writable = [
            ds for ds in self.index.objects["dataSets"] if self.index.can_write_data(user, ds)
        ]
        obj: dict[str, Any] = {
            "id": user.id,
            "username": user.username,
            "firstName": user.first_name or user.username,
            "surname": user.surname or "",
            "displayName": f"{user.first_name} {user.surname}".strip() or user.username,
            "organisationUnits": ous,
            "dataViewOrganisationUnits": ous,
            "teiSearchOrganisationUnits": [],
            "userRoles": [{"id": r} for r in user.roles],
            "userGroups": [{"id": g} for g in sorted(user.groups)],
            "authorities": sorted(user.authorities),
            "dataSets": writable,
            "programs": [],
            "settings": {},
            "userCredentials": {"username": user.username},
        }
        fields = request.query_params.get("fields")
        return select(self.index, obj, parse_fields(fields)) if fields else obj

    # -- data approval ----------------------------------------------------------------------
    def data_approvals(self, request: Request, user: User) -> Response:
        """GET the approval state, POST to approve (204), DELETE to unapprove (204)."""
        q = request.query_params
        single = {k: v for k, v in q.items()}
        try:
            if request.method == "GET":
                return _json(200, self.approvals.state(single, user))
            if request.method == "POST":
                self.approvals.approve(single, user)
            elif request.method == "DELETE":
                named = [f"ds:{v}" for v in q.getlist("ds")] + [f"wf:{v}" for v in q.getlist("wf")]
                self.approvals.unapprove(single, named, user)
            else:
                return _json(405, web_message(405, "Method not allowed"))
        except ApprovalError as exc:
            return _json(exc.status, web_message(exc.status, exc.message))
        return Response(status_code=204)

    def approval_statuses(self, request: Request, user: User) -> Response:
        """``GET /api/dataApprovals/approvals``: the states of many slices at once."""
        if request.method != "GET":
            return _json(405, web_message(405, "Method not allowed"))
        q = {k: request.query_params.getlist(k) for k in request.query_params}
        try:
            return _json(200, self.approvals.statuses(q, user))
        except ApprovalError as exc:
            return _json(exc.status, web_message(exc.status, exc.message))

    # -- metadata -------------------------------------------------------------------------
    def list_objects(self, request: Request, collection: str) -> Response:
        q = request.query_params
        objs = list(self.index.objects[collection].values())
        filters = [parse_filter(f) for f in q.getlist("filter")]
        if filters:
            junction_or = q.get("rootJunction", "AND").upper() == "OR"
            combine = any if junction_or else all
            objs = [o for o in objs if combine(matches(self.index, o, f) for f in filters)]
        for spec in reversed(q.getlist("order")):
            prop, _, direction = spec.partition(":")
            direction = direction.lower() or "asc"
            objs.sort(
                key=partial(order_key, prop=prop, case_insensitive=direction.startswith("i")),
                reverse=direction.endswith("desc"),
            )
        tree = parse_fields(q.get("fields") or "id,displayName")
        body: dict[str, Any] = {}
        if q.get("paging", "true").lower() != "false":
            try:
                page = max(1, int(q.get("page", "1")))
                size = max(1, int(q.get("pageSize", "50")))
            except ValueError as exc:
                raise QueryError("page and pageSize must be whole numbers") from exc
            total = len(objs)
            count = max(1, -(-total // size))
            pager: dict[str, Any] = {
                "page": page,
                "total": total,
                "pageSize": size,
                "pageCount": count,
            }
            base = str(request.url.replace(query=""))
            others = [(k, v) for k, v in q.multi_items() if k != "page"]
            if page < count:
                pager["nextPage"] = f"{base}?{urlencode([*others, ('page', page + 1)])}"
            if page > 1:
                pager["prevPage"] = f"{base}?{urlencode([*others, ('page', page - 1)])}"
            body["pager"] = pager
            objs = objs[(page - 1) * size : page * size]
        body[collection] = [select(self.index, o, tree) for o in objs]
        return _json(200, body)

    def get_object(self, request: Request, collection: str, uid: str) -> Response:
        obj = self.index.objects[collection].get(uid)
        if obj is None:
            message = f"{SINGULAR[collection]} with id {uid} could not be found."
            return _json(404, web_message(404, message))
        tree = parse_fields(request.query_params.get("fields") or "*")
        return _json(200, select(self.index, obj, tree))

    # -- data values ------------------------------------------------------------------------
    async def complete_registrations(self, request: Request, user: User) -> Response:
        """GET the registrations, or POST (JSON) registrations, answered per generation."""
        if request.method == "GET":
            query: dict[str, list[str]] = {}
            for k, v in request.query_params.multi_items():
                query.setdefault(k, []).extend(x for x in v.split(",") if x)
            if not query.get("dataSet"):
                return _json(409, web_message(409, "At least one data set must be specified"))
            return _json(200, self.registrations.export(query))
        if request.method != "POST":
            return _json(405, web_message(405, "Method Not Allowed"))
        try:
            payload = json.loads(await request.body() or b"null")
        except ValueError:
            payload = None
        if not isinstance(payload, dict):
            message = "a complete data set registrations body is a JSON object"
            return _json(400, web_message(400, message))
        params = dict(request.query_params.items())
        summary = self.registrations.save(user, payload, params, self.now())
        if not self.version.wrapped:
            return _json(200, summary)
        if summary["status"] == "ERROR":
            return _json(409, web_message(409, WRAPPER_MESSAGES["ERROR"], response=summary))
        return _json(200, web_message(200, WRAPPER_MESSAGES["SUCCESS"], status="OK",
                                      response=summary))  # fmt: skip

    async def post_data_values(self, request: Request, user: User, versioned: bool) -> Response:
        if not user.has("F_DATAVALUE_ADD"):
            return _json(403, web_message(403, "Access is denied"))
        ctype = request.headers.get("content-type", "application/json").split(";")[0].strip()
        if ctype not in ("application/json", "text/json", ""):
            return _json(415, web_message(415, f"Content type '{ctype}' not supported"))
        query = {k: v for k, v in request.query_params.items()}
        raw = await request.body()
        payload: Any
        parse_error = ""
        try:
            payload = json.loads(raw or b"null")
            if not isinstance(payload, dict):
                raise ValueError("a data value set is a JSON object")
            if not isinstance(payload.get("dataValues", []), list):
                raise ValueError("dataValues must be a JSON array")
            options = ImportOptions.from_request(query, payload)
        except ImportRequestError as exc:
            return _json(409, web_message(409, str(exc)))
        except ValueError as exc:
            payload = None
            parse_error = str(exc).splitlines()[0]
            try:
                options = ImportOptions.from_request(query, {})
            except ImportRequestError as bad:
                return _json(409, web_message(409, str(bad)))
        plain = versioned and self.version.generation == 40 and _api_version(request) < 38
        if options.async_:
            job = Job(_uid(), datetime.now(UTC))
            self.jobs[job.id] = job
            job.notify("Process started")
            asyncio.get_running_loop().call_later(0.05, self._run_job, job, user, options, payload)
            return _json(
                200,
                self._job_message(request, job),
                {"location": f"{request.base_url}api/system/tasks/{JOB_TYPE}"},
            )
        if payload is None:
            summary = _failed(options, parse_error)
        else:
            summary = self._import(user, options, payload)
        status, body = import_response(summary, self.version, plain=plain)
        return _json(status, body)

    def _import(
        self, user: User, options: ImportOptions, payload: Mapping[str, Any]
    ) -> ImportSummary:
        ctx = ImportContext(
            self.index, self.store, self.approvals.store, self.version, user, options, self.now()
        )
        if self.version.generation >= 43:
            return run_pipeline_import(ctx, payload)
        return run_legacy_import(ctx, payload)

    def _run_job(self, job: Job, user: User, options: ImportOptions, payload: Any) -> None:
        job.notify("Importing data values")
        if payload is None:
            summary = _failed(options, "Invalid JSON payload")
        else:
            try:
                summary = self._import(user, options, payload)
            except Exception as exc:  # noqa: BLE001 - a failed job still completes, with ERROR
                logger.exception("sandbox async import failed")
                summary = _failed(options, f"{type(exc).__name__}: {exc}")
        job.summary = summary_json(summary, self.version.generation)
        job.notify("Import done", completed=True)

    def _job_message(self, request: Request, job: Job) -> dict[str, Any]:
        endpoint = f"/api/system/tasks/{JOB_TYPE}/{job.id}"
        response: dict[str, Any] = {
            "name": "dataValueImport",
            "id": job.id,
            "created": _stamp(job.created),
            "jobType": JOB_TYPE,
            "relativeNotifierEndpoint": endpoint,
        }
        message = "Initiated dataValueImport"
        if self.version.generation >= 43:
            message = f"Initiated {JOB_TYPE}"
            response["responseType"] = "JobConfiguration"
        return web_message(200, message, status="OK", response=response)

    def tasks(self, job_type: str, job_id: str | None) -> Response:
        if job_type != JOB_TYPE:
            return _json(200, [] if job_id else {})
        if job_id is None:
            return _json(200, {jid: job.notifications for jid, job in self.jobs.items()})
        job = self.jobs.get(job_id)
        return _json(200, job.notifications if job else [])

    def task_summary(self, job_type: str, job_id: str) -> Response:
        job = self.jobs.get(job_id) if job_type == JOB_TYPE else None
        if job is None or job.summary is None:
            return Response(b"", status_code=200, media_type=JSON_TYPE)  # not ready: empty 200
        return _json(200, job.summary)

    def export_data_values(self, request: Request, user: User) -> Response:
        q = request.query_params
        data_sets = q.getlist("dataSet")
        periods = q.getlist("period")
        start, end = q.get("startDate"), q.get("endDate")
        org_units = q.getlist("orgUnit")
        if not data_sets and not q.getlist("dataElement"):
            msg = "At least one data element, data set or data element group must be specified"
            return _json(409, web_message(409, msg, errorCode="E2001"))
        if not periods and not (start and end):
            msg = (
                "At least one period, start/end dates, last updated or last updated duration"
                " must be specified"
            )
            return _json(409, web_message(409, msg, errorCode="E2002"))
        if not org_units:
            msg = "At least one organisation unit or organisation unit group must be specified"
            return _json(409, web_message(409, msg, errorCode="E2006"))
        elements = set(q.getlist("dataElement"))
        for ds in data_sets:
            if ds not in self.index.objects["dataSets"]:
                return _json(
                    409,
                    web_message(
                        409, f"Data set not found or not accessible: `{ds}`", errorCode="E1105"
                    ),
                )
            elements |= set(self.index.data_set_elements(ds))
        units: set[str] = set()
        children = q.get("children", "false").lower() == "true"
        for ou in org_units:
            if ou not in self.index.objects["organisationUnits"]:
                msg = f"Organisation unit not found or not accessible: `{ou}`"
                return _json(409, web_message(409, msg, errorCode="E1102"))
            units |= set(self.index.descendants(ou)) if children else {ou}
        include_deleted = q.get("includeDeleted", "false").lower() == "true"
        wanted_periods = set(periods)
        try:
            lo = date.fromisoformat(start) if start else None
            hi = date.fromisoformat(end) if end else None
        except ValueError:
            return _json(409, web_message(409, "Start date and end date must be valid dates"))
        out = []
        for row in self.store.all(include_deleted=include_deleted):
            de, pe, ou, _, _ = row.key
            if de not in elements or ou not in units:
                continue
            if wanted_periods:
                if pe not in wanted_periods:
                    continue
            elif lo and hi:
                p = parse_period(pe)
                if p is None or p.start < lo or p.end > hi:
                    continue
            out.append(row_json(row, followup_key=self._followup_key(), full=True))
        body: dict[str, Any] = {}
        if len(data_sets) == 1:
            body["dataSet"] = data_sets[0]
        if len(periods) == 1:
            body["period"] = periods[0]
        if len(org_units) == 1 and not children:
            body["orgUnit"] = org_units[0]
        body["dataValues"] = out
        return _json(200, body)

    def _followup_key(self) -> str:
        return "followUp" if self.version.generation >= 43 else "followup"


def _api_version(request: Request) -> int:
    m = _API_PATH.match(request.url.path)
    return int(m["v"]) if m and m["v"] else 999


def _failed(options: ImportOptions, message: str) -> ImportSummary:
    return ImportSummary(
        options, status="ERROR", description=f"The import process failed: {message}"
    )


def _refusal(refusal: Refusal) -> Response:
    if refusal.status == 302:
        return RedirectResponse(refusal.headers["location"], status_code=302)
    return _json(refusal.status, refusal.body, refusal.headers)


def row_json(row: Row, followup_key: str = "followup", full: bool = False) -> dict[str, Any]:
    """A stored value in DHIS2's data value JSON (UIDs)."""
    de, pe, ou, coc, aoc = row.key
    out: dict[str, Any] = {
        "dataElement": de,
        "period": pe,
        "orgUnit": ou,
        "categoryOptionCombo": coc,
        "attributeOptionCombo": aoc,
        "value": row.value,
    }
    if full:
        out["storedBy"] = row.stored_by
        out["created"] = row.created
        out["lastUpdated"] = row.last_updated
        if row.comment is not None:
            out["comment"] = row.comment
        out[followup_key] = row.followup
        if row.deleted:
            out["deleted"] = True
    return out
