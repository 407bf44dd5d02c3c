"""The simulator's web server: a plain ASGI app, served by daphne (``manage.py wa_simulator``).

- ``GET /`` is the simulated WhatsApp Web page: it defines ``window.WPP`` and
  talks to the world over the websocket ``/_sim/ws``.
- ``/_sim/...`` is the phones' side: the JSON control API (docs/simulator.md)
  and ``GET /_sim/``, a page for a person to scan codes and chat.
- ``GET /_sim/avatars/<user>.jpg`` plays WhatsApp's picture CDN: the URL
  ``WPP.contact.getProfilePictureUrl`` answers, with the caching headers of a signed CDN URL.
"""

import asyncio
import base64
import binascii
import hashlib
import json
import os
import time
from email.utils import formatdate, parsedate_to_datetime
from pathlib import Path
from urllib.parse import parse_qs

from whatsapp.simulator.world import World

HERE = Path(__file__).parent
STATIC = {
    "/": ("page.html", "text/html; charset=utf-8"),
    "/wpp.js": ("wpp.js", "text/javascript; charset=utf-8"),
    "/_sim/": ("phones.html", "text/html; charset=utf-8"),
}

# The picture CDN. Every phone has the same picture here; its URL never changes, as the real
# CDN's does not until the picture does (a new picture is a new signed URL). A browser keeps
# it a day and then asks again with its ETag: docs/simulator.md, "Profile pictures".
AVATAR = (HERE / "avatar.jpg").read_bytes()
AVATAR_ETAG = f'"{hashlib.sha256(AVATAR).hexdigest()[:16]}"'
AVATAR_LAST_MODIFIED = int(time.time())  # the simulator's pictures are as old as the simulator
AVATAR_CACHE = "public, max-age=86400"


class BadRequest(Exception):
    pass


def make_world() -> World:
    return World(
        qr_interval=float(os.environ.get("SIMULATOR_QR_INTERVAL", "20")),
        qr_max_codes=int(os.environ.get("SIMULATOR_QR_MAX_CODES", "5")),
    )


class Simulator:
    def __init__(self, world: World) -> None:
        self.world = world

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http":
            await self.http(scope, receive, send)
        elif scope["type"] == "websocket":
            await self.websocket(scope, receive, send)
        elif scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})

    # -- HTTP --------------------------------------------------------------------

    async def http(self, scope, receive, send) -> None:
        body = b""
        while True:
            event = await receive()
            body += event.get("body", b"")
            if not event.get("more_body"):
                break
        path, method = scope["path"], scope["method"]
        query = {k: v[0] for k, v in parse_qs(scope["query_string"].decode()).items()}
        if method == "GET" and path in STATIC:
            name, content_type = STATIC[path]
            return await respond(send, 200, (HERE / name).read_bytes(), content_type)
        if method == "GET" and path.startswith("/_sim/media/"):
            media = self.world.media.get(path.removeprefix("/_sim/media/"))
            if not media:
                return await respond_json(send, 404, {"error": "unknown media"})
            await asyncio.sleep(float(media.get("delay", 0)))  # a large file on a slow network
            return await respond(send, 200, base64.b64decode(media["data"]), media["mimetype"])
        if method == "GET" and path.startswith("/_sim/avatars/") and path.endswith(".jpg"):
            return await self.avatar(send, path.removeprefix("/_sim/avatars/").removesuffix(".jpg"), scope)
        handler = CONTROL.get((method, path))
        if handler is None:
            return await respond_json(send, 404, {"error": f"no route {method} {path}"})
        try:
            payload = json.loads(body or b"{}") if method == "POST" else query
            if not isinstance(payload, dict):
                raise BadRequest("the body must be a JSON object")
            status, answer = handler(self.world, payload)
        except (ValueError, KeyError, BadRequest, binascii.Error) as error:
            status, answer = 400, {"error": f"bad request: {error}"}
        await respond_json(send, status, answer)

    async def avatar(self, send, user: str, scope) -> None:
        """A profile picture, with the validators and lifetime that let a browser keep it: an inbox
        that redraws a row shows the picture it has instead of downloading it again."""
        if not user or "/" in user:
            return await respond_json(send, 404, {"error": "no such picture"})
        self.world.avatar_requests[user] = self.world.avatar_requests.get(user, 0) + 1
        asked = {name.decode("latin-1").lower(): value.decode("latin-1") for name, value in scope["headers"]}
        headers = [
            (b"cache-control", AVATAR_CACHE.encode()),
            (b"etag", AVATAR_ETAG.encode()),
            (b"last-modified", formatdate(AVATAR_LAST_MODIFIED, usegmt=True).encode()),
        ]
        if not_modified(asked):
            await send({"type": "http.response.start", "status": 304, "headers": headers})
            return await send({"type": "http.response.body", "body": b""})
        await respond(send, 200, AVATAR, "image/jpeg", headers=headers)

    # -- the page's websocket ----------------------------------------------------

    async def websocket(self, scope, receive, send) -> None:
        token = None
        outgoing: list[dict] = []
        wake = asyncio.Event()

        def push(event: dict) -> None:
            """The world's way to reach this page: queue the frame for the writer."""
            outgoing.append(event)
            wake.set()

        async def writer() -> None:
            while True:
                await wake.wait()
                wake.clear()
                while outgoing:
                    await send({"type": "websocket.send", "text": json.dumps(outgoing.pop(0))})

        writing = None
        try:
            while True:
                event = await receive()
                if event["type"] == "websocket.connect":
                    await send({"type": "websocket.accept"})
                    writing = asyncio.get_running_loop().create_task(writer())
                elif event["type"] == "websocket.disconnect":
                    break
                elif event["type"] == "websocket.receive":
                    frame = json.loads(event.get("text") or "{}")
                    if "hello" in frame:
                        token = frame["hello"]
                        self.world.device_attach(token, push)
                    elif "call" in frame and token and (answer := self.page_call(token, frame)) is not None:
                        push({"type": "reply", "id": frame["id"], **answer})
        finally:
            if token:
                self.world.device_detach(token, push)
            if writing:
                writing.cancel()

    def page_call(self, token: str, frame: dict) -> dict | None:
        """A WPP function of the page that needs the world: answer ``result`` or ``error``; None (no
        answer ever) to a page whose stream died in a freeze (``World.freeze``)."""
        device = self.world.devices[token]
        if device.dead:
            return None
        call, args = frame["call"], frame.get("args", {})
        try:
            if call == "pairingCode":
                return {"result": self.world.pairing_code_create(token, args["phone"])}
            if call == "refreshQr":
                self.world.device_refresh_qr(token)
                return {"result": True}
            if call == "exists":
                return {"result": self.world.exists(args["id"])}
            if device.phone is None:
                return {"error": "not logged in"}
            account = self.world.accounts[device.phone]
            if call == "logout":
                self.world.logout(device.phone)
                return {"result": True}
            # Reads of the page's own store: WhatsApp Web answers them offline too.
            if call == "pnLid":
                return {"result": self.world.pn_lid_entry(str(args["id"]))}
            if call == "chats":
                return {"result": self.world.chats(device.phone)}
            if call == "messages":
                return {"result": self.world.messages(device.phone, args["chat"], args.get("count", 50))}
            if not account.online:
                return {"error": "offline"}
            if call == "send":
                return {"result": self.world.send(device.phone, **args)}
            if call in ("react", "edit", "revoke"):
                return {"result": self._change(device.phone, call, args)}
            if call == "markRead":
                return {"result": self.world.mark_read(device.phone, args["chat"])}
        except KeyError as error:
            return {"error": f"missing {error}"}
        except (LookupError, ValueError) as error:
            return {"error": str(error)}
        return {"error": f"unknown call {call}"}

    def _change(self, phone: str, call: str, args: dict) -> dict:
        """A reaction, edit or revoke, answered as wa-js answers it (dist/chat/functions/*.d.ts)."""
        kind = {"react": "reaction", "edit": "edit", "revoke": "revoke"}[call]
        value = str(args.get("reaction" if kind == "reaction" else "body", ""))
        entry = self.world.page_change(phone, kind=kind, target=str(args["target"]), value=value)
        if kind == "reaction":  # sendReactionToMessage
            return {"sendMsgResult": "OK"}
        if kind == "edit":  # editMessage: SendMessageReturn of the edit
            return {
                "id": entry["id"],
                "ack": 1,
                "from": f"{phone}@c.us",
                "to": entry["to"],
                "sendMsgResult": "OK",
            }
        # deleteMessage(chat, id, deleteMediaInDevice, revoke=true): DeleteMessageReturn
        return {
            "id": entry["target"],
            "sendMsgResult": "OK",
            "isRevoked": True,
            "isDeleted": True,
            "isSentByMe": True,
        }


# -- the control API: (method, path) -> handler(world, payload) -> (status, body) ----------


def control_scan(world: World, payload: dict):
    if world.scan(str(payload["code"]), digits(payload["phone"])):
        return 200, {"linked": digits(payload["phone"])}
    return 404, {"error": "no browser shows this code (unknown or expired)"}


def control_pair(world: World, payload: dict):
    if world.pair(digits(payload["phone"]), str(payload["code"])):
        return 200, {"linked": digits(payload["phone"])}
    return 404, {"error": "no browser waits for this pairing code"}


CHANGES = {"edit_of": "edit", "revoke_of": "revoke", "reaction_to": "reaction"}


def control_change(world: World, payload: dict, field: str):
    """An edit, a deletion for everyone or a reaction of the customer's (docs/simulator.md)."""
    kind, target = CHANGES[field], payload[field]
    if not isinstance(target, str) or not target:
        raise BadRequest(f"{field} must be a message id")
    value = payload.get("body" if kind == "edit" else "reaction", "")
    if kind == "edit" and (not isinstance(value, str) or not value):
        raise BadRequest("an edit needs the new text in body")
    if kind == "reaction" and not isinstance(value, str):
        raise BadRequest("reaction must be a text (an emoji; empty removes it)")
    change_id = world.change(
        account_phone=digits(payload["account"]),
        sender=digits(payload["from"]),
        kind=kind,
        target=target,
        value=value,
    )
    return 201, {"id": change_id}


def control_messages(world: World, payload: dict):
    if changes := [field for field in CHANGES if field in payload]:
        if len(changes) > 1:
            raise BadRequest("one of edit_of, revoke_of and reaction_to at a time")
        return control_change(world, payload, changes[0])
    media = payload.get("media")
    if media is not None:
        base64.b64decode(media["data"], validate=True)
        if "/" not in media.get("mimetype", ""):
            raise BadRequest("media.mimetype must be a MIME type such as image/png")
    fields = payload.get("fields") or {}
    if not isinstance(fields, dict) or {"id", "to"} & set(fields):
        raise BadRequest("fields must be an object of message fields other than id and to")
    lid = digits(payload["lid"]) if payload.get("lid") not in (None, "") else ""
    hidden = payload.get("phone_hidden") is True
    if hidden and not lid:
        raise BadRequest("phone_hidden needs a lid")
    message_id = world.inbound(
        account_phone=digits(payload["account"]),
        sender="" if hidden or (lid and "from" not in payload) else digits(payload["from"]),
        lid=lid,
        phone_hidden=hidden,
        name=str(payload.get("name", "")),
        body=str(payload.get("body", "")),
        media=media,
        fields=fields,
    )
    return 201, {"id": message_id}


def control_outbox(world: World, payload: dict):
    return 200, {"messages": world.accounts[digits(payload["account"])].outbox}


def control_ack(world: World, payload: dict):
    if int(payload["ack"]) not in (2, 3):
        raise BadRequest("ack must be 2 (delivered) or 3 (read)")
    if world.ack(digits(payload["account"]), str(payload["id"]), int(payload["ack"])):
        return 200, {"ok": True}
    return 404, {"error": "no such message in the outbox"}


def control_logout(world: World, payload: dict):
    return 200, {"devices_removed": world.logout(digits(payload["account"]))}


def control_network(world: World, payload: dict):
    world.set_online(digits(payload["account"]), bool(payload["online"]))
    return 200, {"online": bool(payload["online"])}


def control_freeze(world: World, payload: dict):
    frozen = payload["frozen"]
    if not isinstance(frozen, bool):
        raise BadRequest("frozen must be true or false")
    world.freeze(digits(payload["account"]), frozen)
    return 200, {"frozen": frozen}


def control_accounts(world: World, payload: dict):
    return 200, world.snapshot()


def control_avatars(world: World, payload: dict):
    return 200, {"requests": world.avatar_requests}


CONTROL = {
    ("POST", "/_sim/scan"): control_scan,
    ("POST", "/_sim/pair"): control_pair,
    ("POST", "/_sim/messages"): control_messages,
    ("GET", "/_sim/outbox"): control_outbox,
    ("POST", "/_sim/ack"): control_ack,
    ("POST", "/_sim/logout"): control_logout,
    ("POST", "/_sim/network"): control_network,
    ("POST", "/_sim/freeze"): control_freeze,
    ("GET", "/_sim/accounts"): control_accounts,
    ("GET", "/_sim/avatars"): control_avatars,
}


def digits(value) -> str:
    number = "".join(ch for ch in str(value) if ch.isdigit())
    if not number:
        raise BadRequest(f"{value!r} is not a phone number")
    return number


def not_modified(asked: dict[str, str]) -> bool:
    """Whether a conditional GET of the picture may be answered 304 (RFC 9110 13.1.2 and 13.1.3:
    If-None-Match, compared weakly, wins over If-Modified-Since)."""
    if "if-none-match" in asked:
        tags = [tag.strip().removeprefix("W/") for tag in asked["if-none-match"].split(",")]
        return "*" in tags or AVATAR_ETAG in tags
    try:
        return parsedate_to_datetime(asked["if-modified-since"]).timestamp() >= AVATAR_LAST_MODIFIED
    except (KeyError, TypeError, ValueError):
        return False


async def respond(
    send, status: int, body: bytes, content_type: str, *, headers: list[tuple[bytes, bytes]] | None = None
) -> None:
    """``headers``: the caching ones; without them the answer is ``no-store`` (the page, the API)."""
    headers = [(b"content-type", content_type.encode()), *(headers or [(b"cache-control", b"no-store")])]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def respond_json(send, status: int, payload: dict) -> None:
    await respond(send, status, json.dumps(payload).encode(), "application/json")


application = Simulator(make_world())
