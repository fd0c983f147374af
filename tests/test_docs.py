"""The docs say what the code does: every setting, every route, the two commands."""

from __future__ import annotations

import re
from pathlib import Path

from starlette.routing import Route

from api import webapp
from api.app import api_routes
from gateway.config import SETTINGS
from gateway.core import build_core
from linkservice.routes import link_routes
from tests.conftest import make_config
from tests.doc_examples import code_blocks

ROOT = Path(__file__).resolve().parent.parent


def test_every_setting_is_documented() -> None:
    text = (ROOT / "docs" / "configuration.md").read_text()
    for name in SETTINGS:
        assert f"| `{name}` | `LOCKR_{name.upper()}` |" in text, name


def test_every_route_is_documented() -> None:
    text = (ROOT / "docs" / "api.md").read_text()
    documented = set(re.findall(r"^\| (GET|POST|PUT|DELETE|PATCH) \| `([^`]+)`", text, re.M))
    routes = set()
    for route in api_routes():
        assert isinstance(route, Route)
        for method in route.methods or ():
            if method != "HEAD":
                path = route.path.replace("{token_id}", "{id}").replace("{file_id}", "{id}")
                path = path.replace("{entry_id}", "{id}")
                routes.add((method, path))
    missing = routes - documented
    assert not missing, f"routes missing from docs/api.md: {sorted(missing)}"
    assert documented == routes, f"documented but not served: {sorted(documented - routes)}"


def test_every_link_route_is_documented(tmp_path: Path) -> None:
    text = (ROOT / "docs" / "links.md").read_text()
    documented = set(re.findall(r"^\| (GET|POST|PUT|DELETE|PATCH) \| `([^`]+)`", text, re.M))
    core = build_core(make_config(tmp_path / "data"))
    try:
        routes = {
            (method, route.path.replace("{link_id}", "{id}"))
            for route in link_routes(core)
            if isinstance(route, Route)
            for method in route.methods or ()
            if method != "HEAD"
        }
    finally:
        core.close()
    assert documented == routes, (sorted(routes - documented), sorted(documented - routes))


def test_every_web_app_page_is_documented() -> None:
    text = (ROOT / "docs" / "webapp.md").read_text()
    documented = set(re.findall(r"^\| (GET|POST) \| `([^`]+)`", text, re.M))
    served = {("GET", "/static/{file}")}
    for route in webapp.routes():
        if isinstance(route, Route):
            served |= {(method, route.path) for method in route.methods or () if method != "HEAD"}
    served = {(method, path.replace("{path:path}", "{path}")) for method, path in served}
    assert documented == served, (sorted(served - documented), sorted(documented - served))


def test_deployment_shows_the_tested_nginx_config() -> None:
    """docs/deployment.md shows docs/nginx/lockr.conf, the file tests/test_deployment.py
    runs, as it is."""
    shown = code_blocks("deployment.md", "nginx", section="Several nodes")
    assert shown == [(ROOT / "docs" / "nginx" / "lockr.conf").read_text().strip()]


def test_readme_commands_are_the_ci_commands() -> None:
    readme = (ROOT / "README.md").read_text()
    assert "make run" in readme and "make test" in readme
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^run:", makefile, re.M) and re.search(r"^test:", makefile, re.M)
    assert "make test" in (ROOT / ".ci" / "run").read_text()
