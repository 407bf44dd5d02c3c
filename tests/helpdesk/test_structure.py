"""The house's shape: web processes never load the browser driver, and no two modules import each other round."""

import ast
import subprocess
import sys
from pathlib import Path

from django.conf import settings

APPS = ["helpdesk", "contacts", "tickets", "whatsapp"]


def test_web_processes_never_import_playwright():
    code = (
        "import os, sys, django; os.environ['DJANGO_SETTINGS_MODULE'] = 'helpdesk.settings'; django.setup(); "
        "import helpdesk.urls, helpdesk.asgi; print('playwright' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=settings.BASE_DIR
    )

    assert result.stdout.strip() == "False", result.stderr


def module_imports() -> dict[str, set[str]]:
    """Each project module -> the project modules it imports, at the top or inside a function."""
    base = Path(settings.BASE_DIR)
    modules = {}
    for app in APPS:
        for path in (base / app).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            name = ".".join(path.relative_to(base).with_suffix("").parts).removesuffix(".__init__")
            modules[name] = path
    graph = {}
    for name, path in modules.items():
        imported = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                candidates = [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]
            elif isinstance(node, ast.Import):
                candidates = [alias.name for alias in node.names]
            else:
                continue
            imported |= {candidate for candidate in candidates if candidate in modules and candidate != name}
        graph[name] = imported
    return graph


def test_no_import_circle():
    graph = module_imports()
    circles = []

    def visit(module: str, path: list[str]) -> None:
        for imported in graph[module]:
            if imported in path:
                circles.append([*path[path.index(imported) :], imported])
            elif imported not in done:
                visit(imported, [*path, imported])
        done.add(module)

    done: set[str] = set()
    for module in sorted(graph):
        if module not in done:
            visit(module, [module])

    assert circles == [], "\n".join(" -> ".join(circle) for circle in circles)
