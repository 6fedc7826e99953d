"""Alert states in a real journal: one message per change of state (failing → recovered), never a
repeat; a message that could not be told is told at the next check; settings from the spec,
else the environment; conditions from what a check saw."""

from __future__ import annotations

from datetime import UTC
from datetime import datetime
from datetime import timedelta
from pathlib import Path

import pytest

from dhispatch.runtime.alerts import AlertConfigError
from dhispatch.runtime.alerts import AlertMonitor
from dhispatch.runtime.alerts import AlertSettings
from dhispatch.runtime.alerts import Observation
from dhispatch.runtime.alerts import alert_settings
from dhispatch.runtime.alerts import conditions
from dhispatch.runtime.journal import Journal
from dhispatch.runtime.plan import AlertRules
from dhispatch.runtime.plan import ValueOrEnv
from tests.alerts.servers import webhook_server
from tests.run.conftest import kiribati

T0 = datetime(2024, 6, 1, 12, tzinfo=UTC)


def test_each_change_of_state_is_told_once(tmp_path: Path) -> None:
    plan = kiribati()
    seq = [True, True, True, False, False, True, False]  # failing, … recovered, … failing again
    with Journal.open(tmp_path / "j.sqlite") as journal, webhook_server("tok") as hook:
        settings = AlertSettings(webhook=hook.url)
        for step, failing in enumerate(seq):
            monitor = AlertMonitor(journal, settings, plan, 1)
            seen = Observation(conditions.RUN, failing, f"check {step}")
            monitor.observe([seen], T0 + timedelta(hours=step))
        states = journal.alert_states(plan.name, 1)
    texts = [body["text"].split("\n")[0] for _, body in hook.posts]
    assert texts == [
        f"[dhispatch] ALERT {plan.name}: a run failed",
        f"[dhispatch] RECOVERED {plan.name}: a run failed",
        f"[dhispatch] ALERT {plan.name}: a run failed",
        f"[dhispatch] RECOVERED {plan.name}: a run failed",
    ]
    assert "recovered after 3.0 h" in hook.posts[1][1]["text"]
    assert states[conditions.RUN].failing is False and states[conditions.RUN].told


def test_a_condition_first_seen_healthy_is_not_told(tmp_path: Path) -> None:
    with Journal.open(tmp_path / "j.sqlite") as journal, webhook_server("tok") as hook:
        monitor = AlertMonitor(journal, AlertSettings(webhook=hook.url), kiribati(), 1)
        monitor.observe([Observation(conditions.STALE, False, "fresh")], T0)
    assert hook.posts == [] and monitor.told == []


def test_an_alert_that_could_not_be_told_is_told_at_the_next_check(tmp_path: Path) -> None:
    plan = kiribati()
    with Journal.open(tmp_path / "j.sqlite") as journal, webhook_server("tok") as hook:
        settings = AlertSettings(webhook=hook.url)
        hook.status = 503
        first = AlertMonitor(journal, settings, plan, 1)
        first.observe([Observation(conditions.REFUSED, True, "3 refused")], T0)
        assert first.failures == ["webhook: the webhook answered HTTP 503"]
        assert journal.alert_states(plan.name, 1)[conditions.REFUSED].error is not None
        hook.status = 200
        for hour in (1, 2):  # told once when the hook is back, then never again
            AlertMonitor(journal, settings, plan, 1).observe(
                [Observation(conditions.REFUSED, True, "3 refused")], T0 + timedelta(hours=hour)
            )
        state = journal.alert_states(plan.name, 1)[conditions.REFUSED]
    # the receiver saw the refused attempt and the one told; the third check told nothing
    assert [body["dhispatch"]["state"] for _, body in hook.posts] == ["failing", "failing"]
    assert state.told and state.error is None and state.since == T0


def test_alerts_of_one_plan_and_target_are_kept_apart(tmp_path: Path) -> None:
    plan = kiribati()
    with Journal.open(tmp_path / "j.sqlite") as journal, webhook_server("tok") as hook:
        for target in (1, 2):
            AlertMonitor(journal, AlertSettings(webhook=hook.url), plan, target).observe(
                [Observation(conditions.OFFLINE, True, "silent")], T0
            )
        assert set(journal.alert_states(plan.name, 1)) == {conditions.OFFLINE}
    assert len(hook.posts) == 2


def test_settings_come_from_the_spec_else_the_environment() -> None:
    env = {
        "DHISPATCH_ALERT_EMAIL_TO": "ops@moh.example.org", "DHISPATCH_SMTP": "smtp.moh.org:2525",
        "DHISPATCH_SMTP_PASSWORD": "pw", "DHISPATCH_ALERT_STALE_DAYS": "3", "HOOK": "https://h/x",
    }  # fmt: skip
    assert alert_settings(None, {}) is None  # no channel: no alerts at all
    from_env = alert_settings(None, env)
    assert from_env is not None
    assert (from_env.email_to, from_env.smtp_host, from_env.smtp_port) == (
        ("ops@moh.example.org",), "smtp.moh.org", 2525,
    )  # fmt: skip
    assert (from_env.stale_days, from_env.offline_hours, from_env.webhook) == (3, 48, None)
    rules = AlertRules("x.push:9:1", webhook=ValueOrEnv(env="HOOK"), stale_days=0)
    both = alert_settings(rules, env)
    assert both is not None and (both.webhook, both.stale_days) == ("https://h/x", 0)
    assert "https://h/x" not in repr(both) and "pw" not in repr(both)


@pytest.mark.parametrize(
    ("rules", "env", "message"),
    [
        (AlertRules("x:1:1", webhook=ValueOrEnv(env="HOOK")), {}, "webhook reads $HOOK"),
        (None, {"DHISPATCH_ALERT_EMAIL_TO": "ops@x.org"}, "needs an SMTP server"),
        (None, {"DHISPATCH_ALERT_EMAIL_TO": "ops"}, "'ops' is not an e-mail address"),
        (None, {"DHISPATCH_ALERT_WEBHOOK": "h", "DHISPATCH_ALERT_OFFLINE_HOURS": "2d"}, "2d"),
    ],
)
def test_unusable_settings_are_one_line(
    rules: AlertRules | None, env: dict[str, str], message: str
) -> None:
    with pytest.raises(AlertConfigError, match="^alerts: ") as caught:
        alert_settings(rules, env)
    assert message in str(caught.value) and caught.value.exit_code == 2


def test_offline_and_stale_conditions() -> None:
    last = T0 - timedelta(hours=49)
    assert conditions.of_contact(last, T0, 48) == Observation(
        conditions.OFFLINE, True,
        "DHIS2 last answered at 2024-05-30T11:00+00:00, more than 48 h ago",
    )  # fmt: skip
    assert conditions.of_contact(last, T0, 50) is not None
    assert not conditions.of_contact(last, T0, 50).failing  # type: ignore[union-attr]
    assert (
        conditions.of_contact(None, T0, 48) is None and conditions.of_contact(last, T0, 0) is None
    )
    stale = conditions.of_source(T0 - timedelta(days=9), T0, 7, "stock database s.sqlite")
    assert stale is not None and stale.failing and "no new transaction for 9 days" in stale.detail
    fresh = conditions.of_source(T0 - timedelta(days=2), T0, 7, "s")
    assert fresh is not None and not fresh.failing


def test_a_failure_never_told_ends_in_silence(tmp_path: Path) -> None:
    plan = kiribati()
    with Journal.open(tmp_path / "j.sqlite") as journal, webhook_server("tok") as hook:
        settings = AlertSettings(webhook=hook.url)
        hook.status = 500  # the failure cannot be told …
        AlertMonitor(journal, settings, plan, 1).observe(
            [Observation(conditions.RUN, True, "run 1 ended failed")], T0
        )
        hook.status = 200  # … and is over before the next check: no lone "recovered"
        monitor = AlertMonitor(journal, settings, plan, 1)
        monitor.observe([Observation(conditions.RUN, False, "run 2 ended ok")], T0)
        state = journal.alert_states(plan.name, 1)[conditions.RUN]
    assert len(hook.posts) == 1 and monitor.told == [] and not state.failing and state.told


def test_withheld_values_count_as_refused() -> None:
    from dataclasses import replace

    from dhispatch.runtime.run import RunResult
    from tests.run.test_record import summary

    base = summary(values=5, sent=2, withheld=3)
    seen = conditions.of_runs([RunResult(7, replace(base, status="conflicts"))])
    assert [(o.condition, o.failing) for o in seen] == [
        (conditions.RUN, False), (conditions.REFUSED, True),
    ]  # fmt: skip
    assert "3 value(s) withheld (DHIS2 would refuse them) for 202405" in seen[1].detail
