"""`rectify deploy`: the same flows as Prefect deployments with the same schedules (Asia/Shanghai).

Schedules come from the settings of the machine that runs `rectify deploy` (RECTIFY_CHECK_CRON,
RECTIFY_DIGEST_CRON, RECTIFY_YEAREND_CRON, RECTIFY_NOTIFY_MINUTES); running it again with other
values replaces a deployment's schedule, and the server replaces its scheduled runs.

How the code reaches a worker: it is not shipped. Each deployment's entrypoint is a module path
(`workflows.flows.check_progress`, ...) with no storage and no pull steps; the deployments go to a
`process` work pool, and `prefect worker start --pool rectify` starts every flow run as
`python -m prefect.engine` with the worker's own Python, which imports `workflows.flows` from the
rectify package installed there (`uv sync` / `pip install` of this project on each worker machine,
the worker started from that environment). A flow run inherits the worker's environment: the
worker needs the same RECTIFY_DATABASE_URL (and channel settings) as the web processes. Upgrading
rectify on the workers upgrades the flows; redeploying is needed only when schedules change.
The embedded APScheduler is then switched off (RECTIFY_SCHEDULER=0).
Tested end to end, schedule firing by itself included, in tests/test_prefect_server.py.
"""

from __future__ import annotations

from prefect import deploy as prefect_deploy
from prefect.client.orchestration import get_client
from prefect.client.schemas.actions import WorkPoolCreate
from prefect.client.schemas.objects import ConcurrencyLimitConfig, ConcurrencyLimitStrategy
from prefect.deployments.runner import EntrypointType, RunnerDeployment
from prefect.exceptions import ObjectNotFound
from prefect.schedules import Cron, Interval

from tracker.config import NotifySettings, get_settings
from workflows.flows import check_progress, ingest_reports, send_notifications, weekly_digest, year_end_summary

TZ_NAME = "Asia/Shanghai"
# One outbox run at a time, however many workers: robots are paced per process (notifications/outbox.py),
# and a run that finds the previous one still sending is skipped (the next comes minutes later).
ONE_DELIVERER = ConcurrencyLimitConfig(limit=1, collision_strategy=ConcurrencyLimitStrategy.CANCEL_NEW)


def deployments(ns: NotifySettings) -> list[tuple[RunnerDeployment, str]]:
    """(deployment, schedule shown to people) for every flow; ingest runs on demand only."""
    plan = [
        (check_progress, "daily", Cron(ns.check_cron, timezone=TZ_NAME), f"cron {ns.check_cron}"),
        (weekly_digest, "weekly", Cron(ns.digest_cron, timezone=TZ_NAME), f"cron {ns.digest_cron}"),
        (year_end_summary, "yearly", Cron(ns.yearend_cron, timezone=TZ_NAME), f"cron {ns.yearend_cron}"),
        (
            send_notifications,
            "outbox",
            Interval(ns.notify_minutes * 60, timezone=TZ_NAME),
            f"每 {ns.notify_minutes} 分钟",
        ),
        (ingest_reports, "on-demand", None, "按需运行（参数 paths）"),
    ]
    return [
        (
            flow.to_deployment(
                name,
                schedules=[schedule] if schedule else None,
                entrypoint_type=EntrypointType.MODULE_PATH,
                tags=["rectify"],
                concurrency_limit=ONE_DELIVERER if flow is send_notifications else None,
            ),
            shown,
        )
        for flow, name, schedule, shown in plan
    ]


def ensure_work_pool(name: str) -> None:
    with get_client(sync_client=True) as client:
        try:
            client.read_work_pool(name)
        except ObjectNotFound:
            client.create_work_pool(WorkPoolCreate(name=name, type="process"))


def deploy(*, work_pool: str = "rectify", settings: NotifySettings | None = None) -> list[tuple[str, str]]:
    """Create or update the deployments on the server at PREFECT_API_URL; returns (name, schedule)."""
    planned = deployments(settings or get_settings().notify)
    ensure_work_pool(work_pool)
    prefect_deploy(
        *(d for d, _ in planned),
        work_pool_name=work_pool,
        build=False,
        push=False,
        print_next_steps_message=False,
        ignore_warnings=True,
    )
    return [(f"{d.flow_name}/{d.name}", shown) for d, shown in planned]
