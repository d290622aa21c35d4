"""The web app: server-rendered pages (Jinja2) and the JSON API under /api/v1, on the domain services."""
