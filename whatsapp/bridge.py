"""The bridge between a session (Python) and WhatsApp Web's page (``window.WPP``).

Every ``WPP`` name we use is listed here, and only here: the page-side script
receives the event list from this module, and Python calls functions through
``wpp_call``, which refuses a name that is not listed. A test checks each name
against the type definitions of the installed ``@wppconnect/wa-js``, so an
upgrade that renames something fails the suite instead of a session.
"""

import json
from pathlib import Path
from urllib.parse import urlsplit

from django.conf import settings

PROPERTIES = ["isReady"]

FUNCTIONS = [
    "conn.getAuthCode",
    "conn.isAuthenticated",
    "conn.isMainReady",
    "conn.logout",
    "conn.genLinkDeviceCodeForPhoneNumber",
    "conn.getMyUserId",
    "conn.getBuildConstants",
    "chat.sendTextMessage",
    "chat.sendFileMessage",
    "chat.list",
    "chat.getMessages",
    "chat.downloadMedia",
    "chat.markIsRead",
    "chat.sendReactionToMessage",
    "chat.editMessage",
    "chat.deleteMessage",
    "contact.get",
    "contact.getProfilePictureUrl",
    "contact.queryExists",
    "contact.getPnLidEntry",
]

EVENTS = [
    "conn.auth_code_change",
    "conn.authenticated",
    "conn.main_ready",
    "conn.logout",
    "conn.online",
    "conn.stream_mode_changed",
    "chat.new_message",
    "chat.msg_ack_change",
    "chat.msg_edited",
    "chat.msg_revoke",
    "chat.new_reaction",
]

# The WhatsApp Web versions (``WPP.conn.getBuildConstants().VERSION_STR``) the helpdesk has been
# tested with; the audit warns about a session running any other (tickets/audit/connections.py).
# Updated with the bridge: when wa-js is upgraded or a WhatsApp Web release is tried, its version goes
# here. The simulator's own version (whatsapp/simulator/world.py, WEB_VERSION) is what the suite runs.
TESTED_WEB_VERSIONS = frozenset({"2.3000.0-simulator"})

BINDING = "__helpdeskBridge"  # the function the page calls to reach Python (expose_binding)
READY_EVENT = "bridge.ready"  # sent once by our script with the state WPP already has

# wa-js reads this before it loads: no analytics, no link previews fetched by third parties.
WPP_CONFIG: dict[str, object] = {
    "disableGoogleAnalytics": True,
    "googleAnalyticsId": None,
    "linkPreviewApiServers": [],
    "poweredBy": None,
    "sendStatusToDevice": False,
}

_BRIDGE_JS = (Path(__file__).parent / "bridge.js").read_text()


class BridgeError(Exception):
    pass


def uses_real_whatsapp() -> bool:
    """Real WhatsApp Web needs wa-js injected; the simulator's page brings its own WPP."""
    return urlsplit(settings.WHATSAPP_WEB_URL).hostname == "web.whatsapp.com"


def init_scripts() -> list[str]:
    """The scripts to add, in order, before the page's own scripts run."""
    scripts = [f"window.WPPConfig = {json.dumps(WPP_CONFIG)};"]
    if uses_real_whatsapp():
        scripts.append(Path(settings.WHATSAPP_WA_JS_PATH).read_text())
    scripts.append(_BRIDGE_JS.replace("__EVENTS__", json.dumps(EVENTS)).replace("__BINDING__", BINDING))
    return scripts


async def bridge_call(page, name: str, *args):
    """Call one of our page-side helpers (``window.__helpdeskBridgeApi``, in bridge.js)."""
    return await page.evaluate(
        "([name, args]) => window.__helpdeskBridgeApi[name](...args)", [name, list(args)]
    )


async def wpp_call(page, name: str, *args):
    """Call ``WPP.<name>(*args)`` in the page and return its (awaited) result as JSON data."""
    if name not in FUNCTIONS:
        raise BridgeError(f"WPP.{name} is not a function the bridge declares")
    return await page.evaluate(
        """async ([path, args]) => {
            const [namespace, fn] = path.split(".");
            const result = await window.WPP[namespace][fn](...args);
            return result === undefined ? null : JSON.parse(JSON.stringify(result));
        }""",
        [name, list(args)],
    )
