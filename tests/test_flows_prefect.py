"""check_progress as a real Prefect flow run (one temporary Prefect server per test session)."""

from __future__ import annotations

import json
import time

import pytest

from tests.test_flows_bodies import AS_OF, _ledger
from workflows import configure_prefect, flows


@pytest.fixture(scope="session")
def prefect_server():
    from prefect.testing.utilities import prefect_test_harness

    configure_prefect()  # quiet, offline defaults, as the CLI sets them

    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.mark.slow
@pytest.mark.xdist_group("prefect")
def test_check_progress_flow_run_publishes_its_summary(engine, cli_env, prefect_server):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

    _ledger(engine)
    state = flows.check_progress(as_of=AS_OF, return_state=True)  # the configured (test) database
    assert state.is_completed()
    summary = state.result()
    assert summary["as_of"] == AS_OF.isoformat() and summary["totals"]["red"] == 2
    run_id = state.state_details.flow_run_id
    with get_client(sync_client=True) as client:
        artifacts = {
            a.key: a
            for a in client.read_artifacts(
                artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[run_id]))
            )
        }
        step_names = set()
        for _ in range(100):  # task runs reach the server as events, shortly after the flow run ends
            step_names = {t.name.rsplit("-", 1)[0] for t in client.read_task_runs() if t.flow_run_id == run_id}
            if len(step_names) == 3:
                break
            time.sleep(0.1)
    table = artifacts["check-progress-townships"].data
    rows = json.loads(table) if isinstance(table, str) else table
    assert rows == [
        {"乡镇": r["township"], "红灯": r["red"], "黄灯": r["yellow"], "绿灯": r["green"]} for r in summary["townships"]
    ]
    assert "红灯 2 项" in artifacts["check-progress-summary"].data
    assert step_names == {"queue-reminders", "queue-sent-back", "light-summary"}  # a few batched tasks
