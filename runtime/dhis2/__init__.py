"""The DHIS2 Web API client: auth, retries, pushes, import results and what they prove."""

from __future__ import annotations

from dhispatch.runtime.dhis2.auth import Auth
from dhispatch.runtime.dhis2.auth import BasicAuth
from dhispatch.runtime.dhis2.auth import OAuth2PasswordAuth
from dhispatch.runtime.dhis2.auth import Secret
from dhispatch.runtime.dhis2.auth import TokenAuth
from dhispatch.runtime.dhis2.auth import auth_from_plan
from dhispatch.runtime.dhis2.client import Dhis2Client
from dhispatch.runtime.dhis2.client import batches_by_org_unit
from dhispatch.runtime.dhis2.errors import AuthenticationError
from dhispatch.runtime.dhis2.errors import Cancelled
from dhispatch.runtime.dhis2.errors import ConfigError
from dhispatch.runtime.dhis2.errors import Dhis2Error
from dhispatch.runtime.dhis2.errors import HttpRefusal
from dhispatch.runtime.dhis2.errors import NetworkError
from dhispatch.runtime.dhis2.errors import PayloadTooLarge
from dhispatch.runtime.dhis2.errors import ProtocolError
from dhispatch.runtime.dhis2.errors import ServerError
from dhispatch.runtime.dhis2.models import Conflict
from dhispatch.runtime.dhis2.models import DataValue
from dhispatch.runtime.dhis2.models import IdSchemes
from dhispatch.runtime.dhis2.models import ImportResult
from dhispatch.runtime.dhis2.models import Me
from dhispatch.runtime.dhis2.models import SystemInfo
from dhispatch.runtime.dhis2.numbers import dhis2_value
from dhispatch.runtime.dhis2.reconcile import Reconciliation
from dhispatch.runtime.dhis2.reconcile import reconcile
from dhispatch.runtime.dhis2.retry import RetryPolicy
from dhispatch.runtime.dhis2.version import ServerVersion

__all__ = [
    "Auth",
    "AuthenticationError",
    "BasicAuth",
    "Cancelled",
    "ConfigError",
    "Conflict",
    "DataValue",
    "Dhis2Client",
    "Dhis2Error",
    "HttpRefusal",
    "IdSchemes",
    "ImportResult",
    "Me",
    "NetworkError",
    "OAuth2PasswordAuth",
    "PayloadTooLarge",
    "ProtocolError",
    "Reconciliation",
    "RetryPolicy",
    "Secret",
    "ServerError",
    "ServerVersion",
    "SystemInfo",
    "TokenAuth",
    "auth_from_plan",
    "batches_by_org_unit",
    "reconcile",
    "dhis2_value",
]
