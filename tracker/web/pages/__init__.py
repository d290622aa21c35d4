"""Server-rendered pages, one router per area (not part of the OpenAPI schema)."""

from tracker.web.pages import account, audit, auth, dashboard, excel, reports, tasks, users

# excel before tasks: its fixed paths (/tasks/import) must win over /tasks/{task_id}
routers = [
    auth.router,
    dashboard.router,
    excel.router,
    tasks.router,
    reports.router,
    users.router,
    account.router,
    audit.router,
]
