// The simulated WhatsApp Web: a window.WPP with the names, arguments and
// payload shapes of @wppconnect/wa-js for what the helpdesk's bridge uses.
// Login survives a browser restart because the device token lives in
// localStorage, inside the browser profile, as WhatsApp Web keeps its keys.
(() => {
  const TOKEN_KEY = "simulator.device";
  const listeners = {};
  const pending = {};
  let socket = null;
  let nextCall = 1;
  let authCode = null;
  let phone = null;
  let mainReady = false;
  let online = true;

  const wid = (id) => {
    const serialized = String(id && id._serialized ? id._serialized : id);
    const full = serialized.includes("@") ? serialized : `${serialized}@c.us`;
    const [user, server] = full.split("@");
    return { user, server, _serialized: full, toString: () => full };
  };
  const msg = (raw) => ({ ...raw, from: wid(raw.from), to: wid(raw.to), id: { ...raw.id, remote: wid(raw.id.remote) } });

  function emit(event, payload) {
    for (const listener of listeners[event] || []) {
      try { listener(payload); } catch (error) { console.error(error); }
    }
  }

  function deviceToken() {
    let token = localStorage.getItem(TOKEN_KEY);
    if (!token) {
      token = crypto.randomUUID();
      localStorage.setItem(TOKEN_KEY, token);
    }
    return token;
  }

  function call(name, args = {}) {
    return new Promise((resolve, reject) => {
      const id = nextCall++;
      pending[id] = { resolve, reject };
      socket.send(JSON.stringify({ id, call: name, args }));
    });
  }

  function show(state, code = "") {
    const stateNode = document.getElementById("state");
    if (!stateNode) return;
    stateNode.textContent = state;
    document.getElementById("code").textContent = code;
  }

  const handlers = {
    auth_code(event) {
      authCode = { type: "multidevice", ...event.code };
      WPP.isReady = true;
      show("Scan the QR code with your phone", authCode.fullCode);
      emit("conn.auth_code_change", authCode);
    },
    qr_idle() {
      authCode = null;
      show("QR code expired: click to reload");
      emit("conn.auth_code_change", null);
      emit("conn.qrcode_idle");
    },
    authenticated(event) {
      authCode = null;
      phone = event.phone;
      WPP.isReady = true;
      emit("conn.authenticated");
      if (event.online === false) {
        handlers.online({ online: false });
      } else {
        handlers.online({ online: true });
      }
    },
    logout() {
      phone = null;
      mainReady = false;
      online = true;
      show("Logged out");
      emit("conn.logout");
    },
    online(event) {
      // WhatsApp Web is "main ready" once it is logged in and has a connection.
      const changed = online !== event.online;
      online = event.online;
      show(online ? `Connected as +${phone}` : "Computer not connected");
      if (changed) {
        emit("conn.online", online);
        emit("conn.stream_mode_changed", online ? "MAIN" : "OFFLINE");
      }
      if (online && phone && !mainReady) {
        mainReady = true;
        emit("conn.main_ready");
      }
    },
    message(event) {
      emit("chat.new_message", msg(event.message));
    },
    ack(event) {
      emit("chat.msg_ack_change", {
        ack: event.ack,
        chat: wid(event.chat),
        ids: event.ids.map((id) => ({ _serialized: id, id: id.split("_").pop(), fromMe: true, remote: wid(event.chat) })),
      });
    },
    reply(event) {
      const waiting = pending[event.id];
      delete pending[event.id];
      if (!waiting) return;
      if (event.error) waiting.reject(new Error(event.error));
      else waiting.resolve(event.result);
    },
  };

  function connect() {
    socket = new WebSocket(location.origin.replace(/^http/, "ws") + "/_sim/ws");
    socket.onopen = () => socket.send(JSON.stringify({ hello: deviceToken() }));
    socket.onmessage = (frame) => {
      const event = JSON.parse(frame.data);
      handlers[event.type]?.(event);
    };
    socket.onclose = () => {
      for (const id of Object.keys(pending)) handlers.reply({ id, error: "connection lost" });
      if (phone) {
        mainReady = false;
        handlers.online({ online: false });
      }
      setTimeout(connect, 1000);
    };
  }

  async function toBase64(content) {
    if (typeof content === "string") return content.includes(",") ? content.split(",", 2)[1] : content;
    const bytes = new Uint8Array(await content.arrayBuffer());
    let binary = "";
    for (const byte of bytes) binary += String.fromCharCode(byte);
    return btoa(binary);
  }

  window.WPP = {
    isReady: false,
    on(event, listener) { (listeners[event] ||= []).push(listener); },
    off(event, listener) { listeners[event] = (listeners[event] || []).filter((l) => l !== listener); },
    conn: {
      getAuthCode: async () => authCode,
      isAuthenticated: () => phone !== null,
      isMainReady: () => mainReady,
      logout: async () => { await call("logout"); return true; },
      genLinkDeviceCodeForPhoneNumber: async (number) => call("pairingCode", { phone: String(number) }),
      getMyUserId: () => (phone ? wid(phone) : undefined),
      refreshQR: async () => call("refreshQr"),
    },
    chat: {
      sendTextMessage: async (chatId, content, options = {}) =>
        call("send", {
          to: wid(chatId)._serialized, body: String(content),
          quoted: options.quotedMsg ? String(options.quotedMsg) : "", message_id: options.messageId ? String(options.messageId) : "",
        }),
      sendFileMessage: async (chatId, content, options = {}) =>
        call("send", {
          to: wid(chatId)._serialized,
          body: options.caption || "",
          quoted: options.quotedMsg ? String(options.quotedMsg) : "",
          message_id: options.messageId ? String(options.messageId) : "",
          media: {
            mimetype: options.mimetype || "application/octet-stream", filename: options.filename || "file",
            data: await toBase64(content), ptt: Boolean(options.isPtt),
          },
        }),
      list: async () => (await call("chats")).map((chat) => ({ ...chat, id: wid(chat.id) })),
      getMessages: async (chatId, options = {}) =>
        (await call("messages", { chat: wid(chatId)._serialized, count: options.count === -1 ? 1000000 : options.count || 20 })).map(msg),
      downloadMedia: async (id) => {
        const response = await fetch(`/_sim/media/${encodeURIComponent(String(id))}`);
        if (!response.ok) throw new Error(`media ${id} not found`);
        return response.blob();
      },
      markIsRead: async (chatId) => {
        const result = await call("markRead", { chat: wid(chatId)._serialized });
        return { wid: wid(result.wid), unreadCount: result.unreadCount };
      },
    },
    contact: {
      get: async (id) => ({ id: wid(id) }),
      getProfilePictureUrl: async (id) => `${location.origin}/_sim/avatars/${encodeURIComponent(wid(id).user)}.jpg`,
      queryExists: async (id) => {
        const found = await call("exists", { id: wid(id)._serialized });  // the id WhatsApp uses, or null
        return found ? { wid: wid(found), biz: false } : null;
      },
      // PnLidEntryResult: {lid?, phoneNumber?}, each a PnLidWid {id, server, _serialized}
      getPnLidEntry: async (id) => {
        const entry = await call("pnLid", { id: wid(id)._serialized });
        const pnLidWid = (serialized) => {
          const { user, server } = wid(serialized);
          return { id: user, server, _serialized: serialized };
        };
        const result = {};
        if (entry.lid) result.lid = pnLidWid(entry.lid);
        if (entry.phoneNumber) result.phoneNumber = pnLidWid(entry.phoneNumber);
        return result;
      },
    },
  };

  connect();
})();
