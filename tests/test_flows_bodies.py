"""The flows' bodies (`.fn`, no Prefect server) and the CLI commands that run them."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

from typer.testing import CliRunner

from tests.test_notify_support import add_channel, add_task, outbox_rows, recorder, recorder_server  # noqa: F401
from tracker.config import ROOT
from tracker.db import session_scope
from tracker.lights import light_of
from tracker.models import Status, Task
from workflows import flows

AS_OF = date(2024, 6, 25)
RECENT = datetime(2024, 6, 20, tzinfo=UTC)


def _ledger(engine, recorder=None) -> list[Task]:
    with session_scope(engine) as s:
        tasks = [
            add_task(s, deadline=date(2024, 6, 1), last_progress_at=RECENT),  # red
            add_task(s, deadline=date(2024, 7, 1), last_progress_at=RECENT),  # yellow: due soon
            add_task(s, deadline=date(2024, 12, 1), last_progress_at=RECENT),  # green
            add_task(s, township_name="松岭镇", deadline=date(2024, 12, 1)),  # yellow: stale
            add_task(s, township_name="松岭镇", deadline=date(2024, 5, 1), status=Status.unassigned.value),
            add_task(s, township_name="松岭镇", deadline=date(2024, 5, 1), status=Status.closed.value),
        ]
        if recorder:
            add_channel(s, target=recorder.url("/西里镇"))
            add_channel(s, township_name="松岭镇", target=recorder.url("/松岭镇"))
    return tasks


def test_check_progress_summary_and_queue(engine, recorder):
    tasks = _ledger(engine, recorder)
    summary = flows.check_progress.fn(as_of=AS_OF, engine=engine)
    expected = {}
    for t in tasks:
        light = light_of(t, AS_OF)
        if light:
            name = "西里镇" if t.township_id == tasks[0].township_id else "松岭镇"
            expected.setdefault(name, {"red": 0, "yellow": 0, "green": 0})[light] += 1
    assert {r["township"]: {k: r[k] for k in ("red", "yellow", "green")} for r in summary["townships"]} == expected
    assert summary["totals"] == {k: sum(v[k] for v in expected.values()) for k in ("red", "yellow", "green")}
    assert [r["township"] for r in summary["townships"]] == ["松岭镇", "西里镇"]  # most red first (unassigned counts)
    assert summary["queued"] == {"due_soon": 1, "overdue": 1, "escalation": 0, "stale": 1, "sent_back": 0}
    again = flows.check_progress.fn(as_of=AS_OF, engine=engine)
    assert sum(again["queued"].values()) == 0 and again["totals"] == summary["totals"]

    sent = flows.send_notifications.fn(engine=engine)
    assert sent == {"sent_back": 0, "sent": 3, "retrying": 0, "failed": 0}
    assert len(recorder.accepted) == 3


def test_weekly_digest_flow(engine, recorder):
    _ledger(engine, recorder)
    assert flows.weekly_digest.fn(as_of=AS_OF, engine=engine) == {"digest": 2}
    assert flows.weekly_digest.fn(as_of=AS_OF, engine=engine) == {"digest": 0}


def test_ingest_reports_flow(engine):
    result = flows.ingest_reports.fn(paths=[str(ROOT / "samples")], engine=engine)
    assert result["counts"].get("imported", 0) >= 4 and "failed" not in result["counts"]
    again = flows.ingest_reports.fn(paths=[str(ROOT / "samples")], engine=engine)
    assert set(again["counts"]) == {"duplicate"}


def test_year_end_flow_writes_to_the_data_dir(engine, cli_env):
    flows.ingest_reports.fn(paths=[str(ROOT / "samples")], engine=engine)
    result = flows.year_end_summary.fn(year=2024, as_of=date(2024, 12, 20), engine=engine)
    out = cli_env / "data" / "yearend" / "2024"
    assert result["year"] == 2024 and result["out_dir"] == str(out)
    assert any(out.iterdir())


def test_scheduled_year_end_defaults_to_the_previous_report_year(engine, cli_env):
    flows.ingest_reports.fn(paths=[str(ROOT / "samples")], engine=engine)
    result = flows.year_end_summary.fn(as_of=date(2024, 12, 1), engine=engine)  # as the 1 December job calls it
    assert result["year"] == 2023
    assert any(p.name.startswith("鹤鸣镇-2023") for p in (cli_env / "data" / "yearend" / "2023").iterdir())


def test_run_calls_the_body_without_a_server(engine, monkeypatch):
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    _ledger(engine)
    assert flows.run("check_progress", engine=engine, as_of=AS_OF)["totals"]["red"] >= 1


# ---- CLI ---------------------------------------------------------------------------------------


def _cli(*args: str):
    from tracker.cli import app

    result = CliRunner().invoke(app, list(args), catch_exceptions=False)
    return result


def test_cli_channels_check_notify_outbox(engine, cli_env, recorder):
    _ledger(engine)
    r = _cli(
        "channels", "add", "--township", "西里镇", "--kind", "webhook", "--target", recorder.url("/x"), "--secret", "k"
    )
    assert r.exit_code == 0 and "已添加接收渠道 1" in r.output
    r = _cli(
        "channels",
        "add",
        "--county",
        "--kind",
        "dingtalk",
        "--target",
        recorder.url("/ding?access_token=t"),
        "--role",
        "leader",
    )
    assert r.exit_code == 0
    r = _cli("channels", "add", "--township", "不存在镇", "--kind", "email", "--target", "a@b.cn")
    assert r.exit_code == 1 and "乡镇“不存在镇”不存在" in r.output
    r = _cli("channels", "add", "--township", "西里镇", "--kind", "email", "--target", "not-an-email")
    assert r.exit_code == 1 and "邮箱地址“not-an-email”格式不正确" in r.output
    r = _cli("channels", "add", "--township", "西里镇", "--county", "--kind", "email", "--target", "a@b.cn")
    assert r.exit_code == 1 and "二选一" in r.output
    listed = json.loads(_cli("channels", "list", "--format", "json").output)
    assert [(c["scope"], c["kind"], c["role"], c["has_secret"]) for c in listed] == [
        ("全县", "dingtalk", "leader", False),
        ("西里镇", "webhook", "staff", True),
    ]

    r = _cli("check", "--as-of", "2024-06-25")
    assert r.exit_code == 0 and "红灯" in r.output and "新加入发送队列的提醒 2 条" in r.output
    assert json.loads(_cli("check", "--as-of", "2024-06-25", "--format", "json").output)["queued"]["due_soon"] == 0
    r = _cli("check", "--as-of", "25/06/2024")
    assert r.exit_code == 1 and "格式不正确" in r.output

    r = _cli("notify")
    assert r.exit_code == 0 and "已发送 2 条" in r.output
    pending = json.loads(_cli("outbox", "list", "--status", "pending", "--format", "json").output)
    assert pending == []
    sent = json.loads(_cli("outbox", "list", "--status", "sent", "--format", "json").output)
    assert len(sent) == 2 and {e["township"] for e in sent} == {"西里镇"}
    assert "已发送 2" in _cli("outbox", "list").output

    r = _cli("channels", "remove", "1")
    assert r.exit_code == 0
    r = _cli("channels", "remove", "1")
    assert r.exit_code == 1 and "接收渠道 1 不存在" in r.output


def test_cli_deploy_needs_a_server(cli_env, monkeypatch):
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    r = _cli("deploy")
    assert r.exit_code == 1 and "未设置 PREFECT_API_URL" in r.output


def test_cli_digest(engine, cli_env, recorder):
    _ledger(engine, recorder)
    r = _cli("digest", "--as-of", AS_OF.isoformat())
    assert r.exit_code == 0 and "每周汇总新加入发送队列 2 条" in r.output
    assert {(o.kind, o.as_of) for o in outbox_rows(engine)} == {("digest", AS_OF)}
