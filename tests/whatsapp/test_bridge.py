"""Every WPP name the bridge uses exists in the installed @wppconnect/wa-js."""

import re
from pathlib import Path

import pytest
from django.conf import settings

from whatsapp import bridge

WA_JS_DIST = Path(settings.BASE_DIR) / "node_modules" / "@wppconnect" / "wa-js" / "dist"


def type_definitions(folder: Path) -> str:
    return "\n".join(path.read_text() for path in folder.rglob("*.d.ts"))


def test_the_installed_wa_js_has_type_definitions():
    assert (WA_JS_DIST / "index.d.ts").exists(), "run make setup: @wppconnect/wa-js comes from npm"


@pytest.mark.parametrize("name", bridge.FUNCTIONS)
def test_each_function_is_exported_by_its_namespace(name):
    namespace, function = name.split(".")
    exported = re.compile(rf"export\s+(declare\s+function\s+{function}\b|\{{[^}}]*\b{function}\b[^}}]*\}})")
    assert exported.search(type_definitions(WA_JS_DIST / namespace)), f"WPP.{name} is not in wa-js"


@pytest.mark.parametrize("name", bridge.EVENTS)
def test_each_event_is_declared(name):
    namespace = name.split(".")[0]
    assert f"'{name}'" in type_definitions(WA_JS_DIST / namespace), f"event {name} is not in wa-js"


@pytest.mark.parametrize("name", bridge.PROPERTIES)
def test_each_property_is_exported(name):
    assert re.search(rf"\b{name}\b", (WA_JS_DIST / "index.d.ts").read_text())


def test_the_wpp_config_keys_are_wa_js_settings():
    config = (WA_JS_DIST / "config" / "Config.d.ts").read_text()
    for key in bridge.WPP_CONFIG:
        assert re.search(rf"^\s+{key}\??:", config, re.M), key


def test_a_name_the_bridge_does_not_declare_is_refused():
    with pytest.raises(bridge.BridgeError):
        import asyncio

        asyncio.run(bridge.wpp_call(None, "chat.clear"))
