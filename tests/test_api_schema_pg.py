"""schemathesis against /openapi.json on PostgreSQL, with response-schema validation: as a county
admin and as a township user (Bearer tokens), every operation's generated requests, valid and
invalid, answer without a server error and with a body that matches the schema documented for its
status (tests/test_api_schema.py runs the same on SQLite without the schema check).

Kept small (a few examples per operation and mode) so it runs in well under a minute.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error, response_schema_conformance

from tests.pg_web import fresh_pg_database
from tests.web_helpers import ADMIN, OWN, give_history, seed, web_env
from tracker import users
from tracker.db import session_scope
from tracker.web.app import create_app

pytestmark = pytest.mark.pg
EXAMPLES = 6


@pytest.fixture(scope="module")
def seeded(request, tmp_path_factory):
    request.getfixturevalue("pg_url")  # skips, or fails under RECTIFY_REQUIRE_PG=1, without a server
    with fresh_pg_database("rectify_schema") as url, web_env(tmp_path_factory.mktemp("schema_pg"), url) as engine:
        seed(engine)
        give_history(engine, submit=False)  # some history and evidence for the generated ids to hit
        yield engine, schemathesis.openapi.from_asgi("/openapi.json", create_app(engine=engine))


def test_operations_answer_their_documented_shapes_on_postgresql(seeded):
    engine, schema = seeded

    def token(name: str) -> str:
        """A fresh token for an active user: generated calls may deactivate any user."""
        with session_scope(engine) as s:
            users.set_active(s, name=name, active=True)
            return users.issue_token(s, name=name)

    failures, called = [], []
    for result in schema.get_all_operations():
        operation = result.ok()
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            for who in (ADMIN, OWN):

                @given(case=operation.as_strategy(generation_mode=mode))
                @settings(max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck))
                def run(case):
                    headers = {"Authorization": f"Bearer {token(who)}"}
                    response = case.call(headers=headers)
                    called.append(response.status_code)
                    try:
                        case.validate_response(
                            response, checks=[not_a_server_error, response_schema_conformance], headers=headers
                        )
                    except BaseExceptionGroup as exc:  # schemathesis' FailureGroup: one line per failed check
                        failures.append(
                            f"{operation.label} ({mode.value}, {who}): {response.status_code} "
                            f"{str(exc)[:300]}\n  {case.as_curl_command()}"
                        )

                run()
    assert len(called) > 100 and any(c < 300 for c in called)
    assert not failures, f"{len(failures)} failures:\n" + "\n".join(failures[:10])
