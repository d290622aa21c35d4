"""schemathesis against the app's own /openapi.json, in-process (ASGI), as a county admin with a
Bearer token, on a ledger seeded with a real report: no operation may answer 5xx, whether the
generated request is valid (positive) or not (negative).

Each operation is driven through its Hypothesis strategy: schemathesis' pytest fixture loader
(`from_fixture`) reads a private pytest attribute that pytest 9 no longer has.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode

from tests.web_helpers import ADMIN, give_history, seed, web_env
from tracker import users
from tracker.db import session_scope
from tracker.web.app import create_app

EXAMPLES = 12


@pytest.fixture(scope="module")
def seeded(tmp_path_factory):
    with web_env(tmp_path_factory.mktemp("schema")) as engine:
        seed(engine)
        give_history(engine, submit=True)  # some history and evidence for the generated ids to hit
        yield engine, schemathesis.openapi.from_asgi("/openapi.json", create_app(engine=engine))


def test_no_operation_answers_a_server_error(seeded):
    engine, schema = seeded

    def admin_token() -> str:
        """A fresh token for an active admin: generated calls may deactivate any user, the admin too."""
        with session_scope(engine) as s:
            users.set_active(s, name=ADMIN, active=True)
            return users.issue_token(s, name=ADMIN)

    failures, called = [], []
    for result in schema.get_all_operations():
        operation = result.ok()
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck))
            def run(case):
                response = case.call(headers={"Authorization": f"Bearer {admin_token()}"})
                called.append(response.status_code)
                if response.status_code >= 500:
                    failures.append(
                        f"{operation.label} ({mode.value}): {response.status_code} "
                        f"{response.text[:300]}\n  {case.as_curl_command()}"
                    )

            run()
    assert len(called) > 100 and any(c < 300 for c in called)
    assert not failures, "\n".join(failures[:10])
