"""The phones and servers around WhatsApp Web, kept in memory by the simulator.

A *device* is one browser running the simulated WhatsApp Web (one helpdesk
connection); it is known by the token its page keeps in localStorage, which is
how a restarted browser on the same profile comes back logged in. An *account*
is a phone number; linking a device to an account is what scanning its QR does.
Devices receive pushes through a callback; the transport (websocket) lives in
``app.py`` so this module stays plain and testable.
"""

import asyncio
import base64
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field

Push = Callable[[dict], None]

# The WhatsApp Web version the simulated page reports (``WPP.conn.getBuildConstants().VERSION_STR``);
# whatsapp/bridge.py lists it among the versions the helpdesk is tested with.
WEB_VERSION = "2.3000.0-simulator"


def wid(phone: str) -> str:
    return f"{phone}@c.us"


def ninth_digit_twin(digits: str) -> str | None:
    """A Brazilian mobile (55, area code, 8 digits starting 6-9, with or without a 9 before them)
    written the other way; None for any other number."""
    if not (digits.startswith("55") and digits.isdigit() and "0" not in digits[2:4]):
        return None
    if len(digits) == 13 and digits[4] == "9" and digits[5] in "6789":
        return digits[:4] + digits[5:]
    if len(digits) == 12 and digits[4] in "6789":
        return digits[:4] + "9" + digits[4:]
    return None


def _key(serialized: str) -> dict:
    """A wa-js MsgKey for a serialized message id (``true_<chat>_<id>``)."""
    parts = serialized.split("_")
    return {
        "fromMe": parts[0] == "true",
        "remote": parts[1] if len(parts) > 2 else "",
        "id": parts[-1],
        "_serialized": serialized,
    }


@dataclass
class Account:
    phone: str
    devices: set[str] = field(default_factory=set)
    # chat id -> messages in the order WhatsApp gave them (both directions)
    chats: dict[str, list[dict]] = field(default_factory=dict)
    outbox: list[dict] = field(default_factory=list)
    online: bool = True
    unread: dict[str, int] = field(default_factory=dict)  # chat id -> messages the phone shows unread
    frozen: bool = False  # the stream to its pages is dead: see World.freeze


@dataclass
class Device:
    token: str
    push: Push | None = None
    phone: str | None = None
    code: dict | None = None  # the auth code on screen: {"ref", "fullCode"}
    codes_shown: int = 0
    pairing_code: str | None = None
    pairing_phone: str | None = None
    rotation: asyncio.Task | None = None
    dead: bool = False  # its page's stream died in a freeze: nothing reaches it until it attaches again


class World:
    def __init__(self, *, qr_interval: float = 20.0, qr_max_codes: int = 5) -> None:
        self.qr_interval = qr_interval
        self.qr_max_codes = qr_max_codes
        self.accounts: dict[str, Account] = {}
        self.devices: dict[str, Device] = {}
        self.media: dict[str, dict] = {}  # message id -> {"mimetype", "filename", "data"}
        self.customers: set[str] = set()  # the phones (digits) customers wrote from
        self.avatar_requests: dict[str, int] = {}  # the picture CDN: whose picture -> requests it answered
        # WhatsApp's LIDs: lid digits -> phone digits ("" when the phone is hidden), and back
        self.lid_phones: dict[str, str] = {}
        self.phone_lids: dict[str, str] = {}

    # -- devices (the helpdesk's browsers) ------------------------------------

    def device_attach(self, token: str, push: Push) -> Device:
        """A page (re)connected: log it in again if its account still has it, else show QR codes."""
        device = self.devices.setdefault(token, Device(token=token))
        device.push = push
        account = self.accounts.get(device.phone or "")
        device.dead = bool(account and token in account.devices and account.frozen)
        if device.dead:  # WhatsApp's servers do not answer it: the page never logs in
            return device
        push({"type": "version", "version": WEB_VERSION})
        if account and token in account.devices:
            push({"type": "authenticated", "phone": account.phone, "online": account.online})
        else:
            device.phone = None
            self._start_qr(device)
        return device

    def device_detach(self, token: str, push: Push | None = None) -> None:
        """A page went away. Another page that attached with the same token since (the login restored on
        another machine while the first browser still ran) keeps the device: only its own page detaches it."""
        device = self.devices.get(token)
        if device and (push is None or device.push is push):
            device.push = None
            self._stop_qr(device)

    def _start_qr(self, device: Device) -> None:
        self._stop_qr(device)
        device.codes_shown = 0
        device.rotation = asyncio.get_running_loop().create_task(self._rotate_qr(device))

    def _stop_qr(self, device: Device) -> None:
        if device.rotation:
            device.rotation.cancel()
            device.rotation = None
        device.code = None

    async def _rotate_qr(self, device: Device) -> None:
        """New code every ``qr_interval`` seconds; after ``qr_max_codes`` the QR goes idle."""
        while device.codes_shown < self.qr_max_codes:
            ref = f"2@{secrets.token_urlsafe(24)}"
            device.code = {"ref": ref, "fullCode": f"{ref},{secrets.token_urlsafe(32)},{device.token}"}
            device.codes_shown += 1
            self._send(device, {"type": "auth_code", "code": device.code})
            await asyncio.sleep(self.qr_interval)
        device.code = None
        self._send(device, {"type": "qr_idle"})

    def device_refresh_qr(self, token: str) -> None:
        device = self.devices.get(token)
        if device and device.phone is None:
            self._start_qr(device)

    def pairing_code_create(self, token: str, phone: str) -> str:
        device = self.devices[token]
        code = secrets.token_hex(4).upper()
        device.pairing_code, device.pairing_phone = f"{code[:4]}-{code[4:]}", phone
        return device.pairing_code

    # -- the phones' side (control API) ---------------------------------------

    def scan(self, code: str, phone: str) -> bool:
        """Link the device showing ``code`` (fullCode or ref) to ``phone``."""
        for device in self.devices.values():
            if device.code and code in (device.code["ref"], device.code["fullCode"]):
                self._link(device, phone)
                return True
        return False

    def pair(self, phone: str, code: str) -> bool:
        for device in self.devices.values():
            if device.pairing_code == code.upper() and device.pairing_phone == phone:
                self._link(device, phone)
                return True
        return False

    def _link(self, device: Device, phone: str) -> None:
        self._stop_qr(device)
        device.pairing_code = device.pairing_phone = None
        account = self.accounts.setdefault(phone, Account(phone=phone))
        account.devices.add(device.token)
        device.phone = phone
        self._send(device, {"type": "authenticated", "phone": phone, "online": account.online})

    def logout(self, phone: str) -> int:
        """The phone removes its linked devices; their pages log out and show a QR again."""
        account = self.accounts.get(phone)
        if not account:
            return 0
        removed = list(account.devices)
        account.devices.clear()
        for token in removed:
            device = self.devices[token]
            device.phone = None
            self._send(device, {"type": "logout"})
            if device.push:
                self._start_qr(device)
        return len(removed)

    def set_online(self, phone: str, online: bool) -> None:
        account = self._account(phone)
        account.online = online
        self._push_account(account, {"type": "online", "online": online})
        if online:  # what arrived while offline is delivered now, in order
            for messages in account.chats.values():
                for message in messages:
                    if not message["id"]["fromMe"] and not message.get("_delivered"):
                        self._deliver(account, message)

    def freeze(self, phone: str, frozen: bool) -> None:
        """The account's stream dies (``frozen``) or works again. While frozen, its open pages keep
        saying connected, but nothing reaches them and nothing they ask is answered; what customers
        write goes to the chats' history only. A page stays dead after the unfreeze: only a reload
        or a new browser (attaching again, logged in by its token) brings it back."""
        account = self._account(phone)
        account.frozen = frozen
        if frozen:
            for token in account.devices:
                self.devices[token].dead = True

    def inbound(
        self,
        *,
        account_phone: str,
        sender: str,
        name: str,
        body: str,
        media: dict | None,
        fields: dict | None = None,
        lid: str = "",
        phone_hidden: bool = False,
    ) -> str:
        """A customer writes to the account; returns the WhatsApp message id. ``fields`` replace
        the message's own (a test's hostile type, time or name, as a modified client could send).
        With ``lid`` the message comes from ``<lid>@lid``; ``sender`` (unless ``phone_hidden``) is
        then that LID's phone, as ``getPnLidEntry`` tells it (neither: the LID's mapping stays as it was)."""
        account = self._account(account_phone)
        if lid and (sender or phone_hidden):
            self.lid_map(lid, "" if phone_hidden else sender)
        chat = f"{lid}@lid" if lid else wid(sender)
        serialized = f"false_{chat}_{secrets.token_hex(10).upper()}"
        message = {
            "id": {
                "fromMe": False,
                "remote": chat,
                "id": serialized.rsplit("_", 1)[1],
                "_serialized": serialized,
            },
            "from": chat,
            "to": wid(account.phone),
            "notifyName": name,
            "t": int(time.time()),
            "type": "chat",
            "body": body,
            "ack": 1,
        }
        if media:
            kind = media["mimetype"].split("/")[0]
            message.update(
                type={"image": "image", "audio": "ptt", "video": "video"}.get(kind, "document"),
                body="",
                caption=body,
                mimetype=media["mimetype"],
                filename=media.get("filename", ""),
                size=len(base64.b64decode(media["data"])),
                isMedia=True,
            )
            self.media[serialized] = media
        message.update(fields or {})
        account.chats.setdefault(chat, []).append(message)
        if chat.endswith("@c.us"):
            self.customers.add(chat.split("@")[0])
        account.unread[chat] = account.unread.get(chat, 0) + 1
        self._deliver(account, message)
        return serialized

    def change(self, *, account_phone: str, sender: str, kind: str, target: str, value: str = "") -> str:
        """A customer edits (``value``: the new text), deletes for everyone, or reacts to (``value``: the
        emoji, "" removes it) message ``target``: any id, theirs, the helpdesk's, or one that names nothing
        (a modified client can send that too). The page fires wa-js's event; returns the change's own id."""
        account = self._account(account_phone)
        chat = wid(sender)
        key = secrets.token_hex(10).upper()
        serialized = f"false_{chat}_{key}"
        change_id = {"fromMe": False, "remote": chat, "id": key, "_serialized": serialized}
        original = self._find(account, target)
        now = time.time()
        if kind == "edit":
            if original is not None and original["from"] == chat:  # the chat's history shows the new text
                original["body" if original.get("type", "chat") == "chat" else "caption"] = value
                original["latestEditSenderTimestampMs"] = int(now * 1000)  # read back by a catch-up
                edited: dict = {k: v for k, v in original.items() if k[0] != "_"}
            else:  # not theirs to edit (or nothing): the event still says who sent it
                edited = {
                    "id": _key(target),
                    "from": chat,
                    "to": wid(account.phone),
                    "type": "chat",
                    "body": value,
                }
            edited["latestEditSenderTimestampMs"] = int(now * 1000)
            event: dict = {"type": "edited", "id": target, "message": edited}
        elif kind == "revoke":
            if original is not None and original["from"] == chat:
                original.update(type="revoked", body="", caption="")
            event = {
                "type": "revoke",
                "id": change_id,
                "refId": _key(target),
                "from": chat,
                "to": wid(account.phone),
                "subtype": "revoke",
            }
        else:
            event = {
                "type": "reaction",
                "id": change_id,
                "msgId": _key(target),
                "reactionText": value,
                "sender": chat,
                "timestamp": int(now * 1000),
            }
        if account.online:
            self._push_account(account, event)
        return serialized

    @staticmethod
    def _find(account: Account, message_id: str) -> dict | None:
        for messages in account.chats.values():
            for message in messages:
                if message["id"]["_serialized"] == message_id:
                    return message
        return None

    def mark_read(self, phone: str, chat: str) -> dict:
        """The helpdesk read the chat (WPP.chat.markIsRead): the phone shows it read."""
        self._account(phone).unread[chat] = 0
        return {"wid": chat, "unreadCount": 0}

    def ack(self, phone: str, message_id: str, ack: int) -> bool:
        account = self._account(phone)
        for sent in account.outbox:
            if sent["id"] == message_id:
                sent["ack"] = ack
                self._push_account(
                    account, {"type": "ack", "ack": ack, "chat": sent["to"], "ids": [message_id]}
                )
                return True
        return False

    # -- what a linked page asks of its account --------------------------------

    def send(
        self,
        phone: str,
        *,
        to: str,
        body: str = "",
        media: dict | None = None,
        quoted: str = "",
        message_id: str = "",
    ) -> dict:
        account = self._account(phone)
        chat = to if "@" in to else wid(to)
        serialized = f"true_{chat}_{message_id or secrets.token_hex(10).upper()}"
        received_at = time.time()  # to the microsecond, for latency measurements (tests/benchmarks)
        sent = {
            "kind": "message",
            "id": serialized,
            "to": chat,
            "body": body,
            "ack": 1,
            "t": int(received_at),
            "quoted": quoted,
            "received_at": received_at,
        }
        if media:
            sent_media = {key: media[key] for key in ("mimetype", "filename") if key in media}
            if media.get("ptt"):
                sent_media["ptt"] = True  # sent as a voice message
            sent_media["size"] = len(base64.b64decode(media["data"]))
            sent["media"] = sent_media
        account.outbox.append(sent)
        account.chats.setdefault(chat, []).append(
            {
                "id": {"fromMe": True, "remote": chat, "_serialized": serialized},
                "from": wid(phone),
                "to": chat,
                "t": sent["t"],
                "type": "document" if media else "chat",
                "body": body,
                "ack": 1,
            }
        )
        return {"id": serialized, "ack": 1, "from": wid(phone), "to": chat}

    def page_change(self, phone: str, *, kind: str, target: str, value: str = "") -> dict:
        """The page changes a message of a chat (``WPP.chat.sendReactionToMessage``, ``editMessage``,
        ``deleteMessage`` with revoke): the phone on the other side sees a reaction, an edit or a
        revoke of ``target``, listed in the outbox as its own entry. Only a message of the account's
        chats can be changed; only one of ours edited or revoked (a ``KeyError`` answers the page)."""
        account = self._account(phone)
        original = next(
            (m for messages in account.chats.values() for m in messages if _serialized(m["id"]) == target),
            None,
        )
        if original is None:
            raise LookupError(f"message {target} not found")
        if kind != "reaction" and not original["id"].get("fromMe"):
            raise LookupError(f"message {target} was not sent by this account")
        chat = original["to"] if original["id"].get("fromMe") else original["from"]
        serialized = f"true_{chat}_{secrets.token_hex(10).upper()}"
        entry = {"kind": kind, "id": serialized, "to": chat, "target": target, "t": int(time.time())}
        if kind == "reaction":
            entry["reaction"] = value
        elif kind == "edit":
            entry["body"] = value
            original["body"] = value  # the chat's history shows the new text, as on the phone
        account.outbox.append(entry)
        return entry

    def chats(self, phone: str) -> list[dict]:
        account = self._account(phone)
        return [
            {"id": chat, "t": messages[-1]["t"], "unreadCount": account.unread.get(chat, 0)}
            for chat, messages in account.chats.items()
            if messages
        ]

    def messages(self, phone: str, chat: str, count: int) -> list[dict]:
        """A chat's latest messages as the page's store has them: offline, not what has not reached it."""
        account = self._account(phone)
        history = account.chats.get(chat, [])
        if not account.online:
            history = [m for m in history if m["id"]["fromMe"] or m.get("_delivered")]
        return [{k: v for k, v in m.items() if not k.startswith("_")} for m in history[-count:]]

    def lid_map(self, lid: str, phone: str) -> None:
        """WhatsApp knows ``lid`` as the person of ``phone`` ("": it hides their phone)."""
        if phone:
            self.phone_lids[phone] = lid
        elif lid in self.lid_phones:
            self.phone_lids.pop(self.lid_phones[lid], None)
        self.lid_phones[lid] = phone

    def pn_lid_entry(self, chat: str) -> dict:
        """``WPP.contact.getPnLidEntry``: the LID and the phone id of a person, each only when known."""
        user, _, server = chat.partition("@")
        if server == "lid" and user.isdigit():
            phone = self.lid_phones.get(user, "")
            return {"lid": f"{user}@lid", **({"phoneNumber": wid(phone)} if phone else {})}
        if server == "c.us" and user.isdigit():
            lid = self.phone_lids.get(user, "")
            return {"phoneNumber": wid(user), **({"lid": f"{lid}@lid"} if lid else {})}
        raise ValueError(f"invalid wid for getPnLidEntry: {chat}")

    def exists(self, number: str) -> str | None:
        """The id WhatsApp uses for a number (``contact.queryExists``), None when it has none.

        A phone the world knows (an account, a customer who wrote) is found typed either way of
        its ninth digit, and answers the id it wrote from. Any other number with 10 to 13 digits
        that does not end in 0000 "has WhatsApp"; a Brazilian mobile typed as 55 + area code +
        8 digits starting with 6-9 is known by its ninth digit: 55DD9XXXXXXXX@c.us."""
        digits = number.split("@")[0]
        if not digits.isdigit():
            return None
        known = self.accounts.keys() | self.customers
        for candidate in (digits, ninth_digit_twin(digits)):
            if candidate in known:
                return wid(candidate)
        if not 10 <= len(digits) <= 13 or digits.endswith("0000"):
            return None
        if len(digits) == 12 and (twin := ninth_digit_twin(digits)):
            return wid(twin)
        return wid(digits)

    # -- helpers ----------------------------------------------------------------

    def _account(self, phone: str) -> Account:
        return self.accounts.setdefault(phone, Account(phone=phone))

    def _deliver(self, account: Account, message: dict) -> None:
        if account.frozen:  # history only: a page sees it when it reads the chat after a reload
            message["_delivered"] = True
            return
        if not account.online:
            return
        delivered = False
        for token in account.devices:
            device = self.devices[token]
            if device.push and not device.dead:
                device.push({"type": "message", "message": {k: v for k, v in message.items() if k[0] != "_"}})
                delivered = True
        message["_delivered"] = delivered

    def _push_account(self, account: Account, event: dict) -> None:
        for token in account.devices:
            self._send(self.devices[token], event)

    @staticmethod
    def _send(device: Device, event: dict) -> None:
        if device.push and not device.dead:
            device.push(event)

    def snapshot(self) -> dict:
        """What the control API's GET /_sim/accounts shows."""
        return {
            "accounts": [
                {
                    "phone": a.phone,
                    "online": a.online,
                    "frozen": a.frozen,
                    "devices": sorted(a.devices),
                    "chats": sorted(a.chats),
                    "outbox": len(a.outbox),
                    "unread": a.unread,
                }
                for a in self.accounts.values()
            ],
            "pending_codes": [
                {"device": d.token, "ref": d.code["ref"], "fullCode": d.code["fullCode"]}
                for d in self.devices.values()
                if d.code and d.push
            ],
        }


def _serialized(message_id: dict | str) -> str:
    return message_id.get("_serialized", "") if isinstance(message_id, dict) else message_id
