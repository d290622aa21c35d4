"""The layering README promises, checked on the source: the web layer (tracker/web and the pages of
the year end and the notifications) holds no SQL, its routers call services; the domain never imports
the web, the CLI, the notifications or the flows."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SQL_IMPORT = re.compile(r"^\s*from sqlalchemy[\w.]* import [^\n]*\b(select|insert|update|delete|text|func)\b", re.M)
SQL_CALL = re.compile(r"(?<![\w.])(session|s|conn|connection)\.(execute|exec|scalar|scalars|get|add|delete)\(")


WEB_PAGES = ("tracker/yearend/web.py", "notifications/web.py")


def _sources(folder: str) -> dict[str, str]:
    return {str(p.relative_to(ROOT)): p.read_text(encoding="utf-8") for p in (ROOT / folder).rglob("*.py")}


def _web() -> dict[str, str]:
    return _sources("tracker/web") | {name: (ROOT / name).read_text(encoding="utf-8") for name in WEB_PAGES}


def test_the_web_layer_has_no_sql():
    found = [
        f"{name}: {m.group(0).strip()}"
        for name, text in _web().items()
        for m in [*SQL_IMPORT.finditer(text), *SQL_CALL.finditer(text)]
    ]
    assert not found, "\n".join(found)


def test_the_checks_see_sql_where_there_is_some():
    services = _sources("tracker")
    assert SQL_IMPORT.search(services["tracker/uploads.py"]) and SQL_CALL.search(services["tracker/audit.py"])
    assert not SQL_CALL.search("request.session.get('csrf')")  # the cookie session is not the database


def test_the_domain_does_not_import_the_outer_layers():
    outer = re.compile(r"^\s*(from|import) (tracker\.web|tracker\.cli|notifications|workflows)\b", re.M)
    found = [
        f"{name}: {m.group(0).strip()}"
        for name, text in _sources("tracker").items()
        if not name.startswith(("tracker/web/", "tracker/cli/")) and name not in WEB_PAGES
        for m in outer.finditer(text)
    ]
    assert not found, "\n".join(found)
