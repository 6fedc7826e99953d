"""The plan contract the compiler writes and the runtime reads: schema, typed plan, catalogue.

``plan.v1.json`` is the JSON Schema; ``loader`` validates documents against it and builds the
read-only ``Plan`` (``model``); ``catalogue`` names the indicators, their parameters, the period
types and the plan's other enums once for both sides. The compiler may import this package; it
imports nothing from the compiler.
"""

from __future__ import annotations

from dhispatch.runtime.plan.catalogue import INDICATORS
from dhispatch.runtime.plan.catalogue import PARAMETERS
from dhispatch.runtime.plan.catalogue import PERIOD_TYPES
from dhispatch.runtime.plan.catalogue import Indicator
from dhispatch.runtime.plan.catalogue import Parameter
from dhispatch.runtime.plan.loader import PLAN_VERSION
from dhispatch.runtime.plan.loader import PlanError
from dhispatch.runtime.plan.loader import load_plan
from dhispatch.runtime.plan.loader import parse_plan
from dhispatch.runtime.plan.loader import plan_problems
from dhispatch.runtime.plan.loader import schema_path
from dhispatch.runtime.plan.loader import validate_plan
from dhispatch.runtime.plan.model import AlertRules
from dhispatch.runtime.plan.model import AuthSettings
from dhispatch.runtime.plan.model import DataElementRule
from dhispatch.runtime.plan.model import IdSchemes
from dhispatch.runtime.plan.model import Interval
from dhispatch.runtime.plan.model import ItemFilter
from dhispatch.runtime.plan.model import OrgUnitRule
from dhispatch.runtime.plan.model import Plan
from dhispatch.runtime.plan.model import PlanMetadata
from dhispatch.runtime.plan.model import ScopeRules
from dhispatch.runtime.plan.model import Setup
from dhispatch.runtime.plan.model import SourceSettings
from dhispatch.runtime.plan.model import Step
from dhispatch.runtime.plan.model import Target
from dhispatch.runtime.plan.model import ValueOrEnv

__all__ = [
    "INDICATORS",
    "PARAMETERS",
    "PERIOD_TYPES",
    "PLAN_VERSION",
    "AlertRules",
    "AuthSettings",
    "DataElementRule",
    "IdSchemes",
    "Indicator",
    "Interval",
    "ItemFilter",
    "OrgUnitRule",
    "Parameter",
    "Plan",
    "PlanError",
    "PlanMetadata",
    "ScopeRules",
    "Setup",
    "SourceSettings",
    "Step",
    "Target",
    "ValueOrEnv",
    "load_plan",
    "parse_plan",
    "plan_problems",
    "schema_path",
    "validate_plan",
]
