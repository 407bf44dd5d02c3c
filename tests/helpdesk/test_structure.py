"""The house's shape: web processes never load the browser driver, and no two modules import each other round."""

import ast
import re
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


# -- the provider (whatsapp/) and the domain (tickets/, contacts/) meet at a narrow, typed interface -----

DOMAIN = ("tickets", "contacts")
ENGINE_ONLY = {"whatsapp.bridge", "whatsapp.session", "whatsapp.session_messages", "whatsapp.session_bus"}
WIRE_TYPES = {
    "InboundMessage",
    "InboundChange",
    "Download",
    "OutboundMessage",
    "OutboundMedia",
    "OutboundChange",
    "filename_clean",
    "Person",
}


def wa_js_only_keys() -> set[str]:
    """The keys of the messages the page sends (bridge.js's ``plainMessage``) that are no name of the
    helpdesk's own: ``body``, ``caption``, ``mimetype``... are Message fields too and ``type`` is every
    Channels event's, so naming them proves nothing; ``fromMe``, ``notifyName``, ``t``... exist only on
    the wire."""
    source = (Path(settings.BASE_DIR) / "whatsapp" / "bridge.js").read_text()
    literal = re.search(r"function plainMessage\(message\) \{\s*return \{(.*?)\};", source, re.S).group(1)
    keys = set(re.findall(r"(\w+):", literal))
    from tickets.models import Message

    helpdesk_names = {field.name for field in Message._meta.get_fields()} | {
        "id",
        "type",
    }  # every event has a type
    assert {"fromMe", "notifyName", "isMedia"} <= keys  # the parse found the object
    return keys - helpdesk_names


def domain_modules() -> dict[str, ast.Module]:
    base = Path(settings.BASE_DIR)
    return {
        str(path.relative_to(base)): ast.parse(path.read_text())
        for app in DOMAIN
        for path in (base / app).rglob("*.py")
        if "migrations" not in path.parts
    }


def test_the_domain_never_reads_a_wa_js_key():
    """WhatsApp's data reaches tickets/ and contacts/ only as whatsapp/wire.py's typed messages: they import
    none of its readers nor the bridge, never look at a message's ``raw`` payload, and never name a key that
    only the wire has."""
    wire_keys = wa_js_only_keys()
    found = []
    for path, tree in domain_modules().items():
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module == "whatsapp.wire":
                found += [f"{path}: imports {a.name}" for a in node.names if a.name not in WIRE_TYPES]
            elif isinstance(node, ast.ImportFrom | ast.Import):
                names = [node.module] if isinstance(node, ast.ImportFrom) else [a.name for a in node.names]
                found += [f"{path}: imports {n}" for n in names if n in ENGINE_ONLY]
            elif isinstance(node, ast.Attribute) and node.attr == "raw":
                found.append(f"{path}:{node.lineno}: reads .raw")
            elif isinstance(node, ast.Constant) and node.value in wire_keys:
                found.append(f"{path}:{node.lineno}: names the wa-js key {node.value!r}")

    assert found == []


def test_the_session_reaches_the_domain_only_through_its_interface():
    """The session engine calls tickets.inbound (messages in), tickets.message_changes (their edits,
    deletions and reactions), tickets.outbound (the outbox) and
    contacts.services (pictures); it imports no model of theirs, so it cannot read a ticket's fields."""
    interface = {"tickets.inbound", "tickets.message_changes", "tickets.outbound", "contacts.services"}
    graph = module_imports()
    engine = [
        "whatsapp.session",
        "whatsapp.session_messages",
        "whatsapp.session_bus",
        "whatsapp.session_db",
        "whatsapp.wire",
        "whatsapp.bridge",
        "whatsapp.lanes",
        "whatsapp.browser",
    ]
    assert set(engine) <= set(graph)  # a module renamed is not silently left unchecked

    reached = {module: {m for m in graph[module] if m.startswith(DOMAIN)} - interface for module in engine}

    assert reached == {module: set() for module in engine}
