// The page side of the bridge (whatsapp/bridge.py fills in __EVENTS__ and __BINDING__).
// It waits for WPP, subscribes to the events the session needs and forwards each
// as plain JSON; WhatsApp's own objects never cross into Python.
(() => {
  const EVENTS = __EVENTS__;
  const send = (name, payload) => window.__BINDING__(name, payload === undefined ? null : payload);
  const id = (value) => (value && typeof value === "object" ? value._serialized || String(value) : value ?? null);

  function plainMessage(message) {
    return {
      id: id(message.id), from: id(message.from), to: id(message.to), author: id(message.author),
      fromMe: Boolean(message.id && message.id.fromMe), type: message.type, body: message.body ?? "",
      caption: message.caption ?? "", t: message.t, notifyName: message.notifyName ?? "",
      mimetype: message.mimetype ?? "", filename: message.filename ?? "", size: message.size ?? null,
      isMedia: Boolean(message.isMedia), quoted: id(message.quotedStanzaID), lat: message.lat ?? null,
      lng: message.lng ?? null, vcard: message.vcard ?? null, ack: message.ack ?? null,
      editedAt: message.latestEditSenderTimestampMs ?? null,
    };
  }

  const plain = {
    "chat.new_message": plainMessage,
    "chat.msg_ack_change": (event) => ({ ack: event.ack, chat: id(event.chat), ids: event.ids.map(id) }),
    "conn.auth_code_change": (code) => (code ? { ref: code.ref, fullCode: code.fullCode } : null),
    // A message's changes: the edited message (its new text), the revoked one's id, the reaction.
    "chat.msg_edited": (event) => ({
      chat: id(event.chat), id: id(event.id), msg: plainMessage(event.msg),
      editedAt: event.msg.latestEditSenderTimestampMs ?? null,
    }),
    "chat.msg_revoke": (event) => ({
      id: id(event.id), refId: id(event.refId), from: id(event.from), to: id(event.to),
      author: id(event.author), fromMe: Boolean(event.id && event.id.fromMe), type: event.type,
    }),
    "chat.new_reaction": (event) => ({
      id: id(event.id), msgId: id(event.msgId), reactionText: event.reactionText ?? "", sender: id(event.sender),
      fromMe: Boolean(event.id && event.id.fromMe), timestamp: event.timestamp ?? null,
    }),
  };

  // Reads for the session's catch-up, in the same plain form as the events.
  window.__helpdeskBridgeApi = {
    chats: async () => (await WPP.chat.list()).map((chat) => ({ id: id(chat.id), t: chat.t ?? 0 })),
    messages: async (chatId, count) => (await WPP.chat.getMessages(chatId, { count })).map(plainMessage),
    // A message's media as base64, unless it is larger than maxBytes (then only its size).
    media: async (messageId, maxBytes) => {
      const blob = await WPP.chat.downloadMedia(messageId);
      if (blob.size > maxBytes) return { mimetype: blob.type, size: blob.size, data: null };
      const bytes = new Uint8Array(await blob.arrayBuffer());
      let binary = "";
      for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
      return { mimetype: blob.type, size: blob.size, data: btoa(binary) };
    },
  };

  const waiting = setInterval(() => {
    if (!window.WPP || !window.WPP.isReady) return;
    clearInterval(waiting);
    for (const name of EVENTS) {
      WPP.on(name, (payload) => send(name, plain[name] ? plain[name](payload) : JSON.parse(JSON.stringify(payload ?? null))));
    }
    // What happened before we subscribed: the state now, and the code on screen.
    Promise.resolve(WPP.conn.getAuthCode()).then((code) => {
      send("bridge.ready", {
        authenticated: WPP.conn.isAuthenticated(),
        mainReady: WPP.conn.isMainReady(),
        authCode: plain["conn.auth_code_change"](code),
      });
    });
  }, 100);
})();
