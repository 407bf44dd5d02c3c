// The inbox, live. Pages are rendered on the server; an event (ids only) makes this
// script fetch just the pieces it concerns: the ticket's row (or its removal from
// the tab), the tabs' counts, and on the open ticket its header, a message whose
// status moved, or the messages stored since the newest one shown.
// One request at a time per piece: events arriving while it runs are answered by one
// more request when it ends, so a burst of 50 messages a second costs a request per
// round trip, not one per message (serially).
// After the websocket was lost and came back, it reads them all again (catchUp).
(function () {
  const inbox = document.getElementById("inbox");
  const rows = document.getElementById("inbox-rows");
  const query = () => inbox.dataset.query;
  const descending = () => inbox.dataset.tab !== "waiting";
  const openTicket = () => document.getElementById("ticket");

  async function fetchText(url) {
    const response = await fetch(url, { credentials: "same-origin", headers: { "HX-Request": "true" } });
    return { response, text: response.ok ? await response.text() : "" };
  }

  // -- rows -------------------------------------------------------------------------
  function place(row) {
    const before = (other) => (descending() ? row.dataset.sort > other.dataset.sort : row.dataset.sort < other.dataset.sort);
    const others = [...rows.querySelectorAll(".ticket-row")];
    const next = others.find(before);
    const more = rows.querySelector(".more");
    if (next) rows.insertBefore(row, next);
    else if (!more) rows.appendChild(row);
    else return false; // belongs to a page not loaded yet: "load more" will bring it
    rows.querySelector(".empty")?.remove();
    htmx.process(row);
    return true;
  }

  // Runs ``fetch`` now, or once more after the run in flight for ``key`` when one is
  // (the latest arguments win): a burst is answered by a request per round trip.
  const running = new Map();
  async function oneAtATime(key, fetch, ...args) {
    if (running.has(key)) { running.get(key).again = args; return; }
    const state = { again: null };
    running.set(key, state);
    try {
      await fetch(...args);
      while (state.again) {
        const next = state.again;
        state.again = null;
        await fetch(...next);
      }
    } finally {
      running.delete(key);
    }
  }

  // The rows events named since the last request: ticket id -> its newest message to maybe notify of.
  const rowsWanted = new Map();
  function refreshRow(ticketId, messageId) {
    const notifyOf = messageId && !muted() ? messageId : null; // muted: no need to ask whether to notify
    rowsWanted.set(String(ticketId), notifyOf ?? rowsWanted.get(String(ticketId)) ?? null);
    return oneAtATime("rows", fetchRows);
  }

  const ROWS_GAP = 250; // ms between two requests for rows: a list need not move faster than the eye
  async function fetchRows() {
    // Every row wanted, a request per round trip and ROWS_GAP (at most 50 rows each): a burst of
    // many customers' messages costs a few requests, not one per ticket, and leaves the server to
    // the open ticket's messages, which an agent reads as they come.
    while (rowsWanted.size) {
      const batch = [...rowsWanted].slice(0, 50);
      batch.forEach(([id]) => rowsWanted.delete(id));
      const params = new URLSearchParams(query());
      for (const [id, message] of batch) {
        params.append("ticket", id);
        if (message) params.append("message", message);
      }
      const { response, text } = await fetchText(`/inbox/rows/?${params}`);
      if (!response.ok) return;
      batch.forEach(([id]) => document.getElementById(`row-${id}`)?.remove()); // one not answered left the tab
      const template = document.createElement("template");
      template.innerHTML = text;
      const answered = new Map([...template.content.children].map((row) => [row.dataset.ticket, row]));
      for (const [id, row] of answered) {
        place(row);
        if (id === openTicket()?.dataset.ticket) row.classList.add("current");
      }
      const notifyOf = response.headers.get("X-Notify");
      if (notifyOf) notify(answered.get(notifyOf) || null);
      await new Promise((resolve) => setTimeout(resolve, ROWS_GAP));
    }
  }

  // -- the open ticket ------------------------------------------------------------------
  async function refreshMessage(ticket, messageId) {
    const url = ticket.dataset.messageUrl.replace(/\/0\/$/, `/${messageId}/`);
    const { response, text } = await fetchText(url);
    if (response.ok) mergeMessages(text);
  }

  async function refreshHead(ticket) {
    const { response, text } = await fetchText(ticket.dataset.headUrl);
    const head = document.getElementById("ticket-head");
    if (response.status === 404) {
      // Moved out of this user's queues: it is no longer theirs to see.
      ticket.replaceWith(Object.assign(document.createElement("p"), {
        className: "pane-empty", textContent: inbox.dataset.goneText,
      }));
      return;
    }
    if (response.ok && head && !head.querySelector("#transfer-box form")) {
      // The header brings the side's SLA details with it (hx-swap-oob, as htmx swaps an action's answer).
      const template = document.createElement("template");
      template.innerHTML = text;
      for (const part of template.content.querySelectorAll("[hx-swap-oob]")) {
        part.removeAttribute("hx-swap-oob");
        document.getElementById(part.id)?.replaceWith(part);
      }
      head.replaceChildren(template.content);
      htmx.process(head);
    }
  }

  async function refreshList() {
    // The user's queues changed: the whole first page again, and the open ticket's header
    // (which says when the ticket is no longer theirs to see).
    const { response, text } = await fetchText(`/inbox/more/?${query()}`);
    if (response.ok) { rows.innerHTML = text; htmx.process(rows); markCurrent(); }
    document.body.dispatchEvent(new Event("inbox-changed"));
    const ticket = openTicket();
    if (ticket) refreshHead(ticket);
  }

  // The newest message shown. Live messages are appended and older pages go above, so it is among
  // the last ones: a look at those costs the same for 40 messages as for 5,000 (a full scan, per
  // event, made a burst slower the longer the conversation). Should it ever be further up, the next
  // request asks for messages already shown, and the merge replaces them: nothing is shown twice.
  const NEWEST_AMONG = 100;
  function newestShown() {
    let newest = 0;
    let element = document.getElementById("messages")?.lastElementChild;
    for (let looked = 0; element && looked < NEWEST_AMONG; looked += 1) {
      if (element.matches(".msg[id^='msg-']")) newest = Math.max(newest, Number(element.id.slice(4)));
      element = element.previousElementSibling;
    }
    return newest;
  }

  function onMessageEvent(ticket, event) {
    // A new message already shown came with an earlier request: nothing to do. A shown message
    // whose status moved, or a new one older than the newest shown (stored late): that message.
    // The status of an older message not in the page (let go while reading at the bottom, or on a
    // page never loaded) waits until it is loaded, with its status then. Otherwise every message
    // stored since the newest shown, in one request.
    const id = event.message;
    // A scheduled reply (new, edited, cancelled, or its time come): the list below the conversation
    // again. Only the one that went joins the conversation (a message.new no longer scheduled).
    if (event.status === "scheduled" || document.getElementById(`scheduled-${id}`)) {
      oneAtATime(`scheduled-${ticket.dataset.ticket}`, refreshScheduled, ticket);
      if (event.status === "scheduled" || event.type !== "message.new") return;
    }
    const shown = document.getElementById(`msg-${id}`);
    if (event.type === "message.new" && shown) return;
    if (shown) oneAtATime(`msg-${id}`, refreshMessage, ticket, id);
    else if (id > newestShown()) oneAtATime(`newer-${ticket.dataset.ticket}`, fetchNewer, ticket);
    else if (event.type === "message.new") oneAtATime(`msg-${id}`, refreshMessage, ticket, id);
  }

  async function refreshScheduled(ticket) {
    const list = document.getElementById("scheduled");
    if (!list) return;
    const { response, text } = await fetchText(list.dataset.url);
    if (!response.ok || openTicket() !== ticket) return;
    const template = document.createElement("template");
    template.innerHTML = text;
    const fresh = template.content.getElementById("scheduled");
    // An edit form open in this page keeps what is being typed: that bubble stays as it is.
    for (const open of list.querySelectorAll("details[open]")) {
      const bubble = open.closest("[data-scheduled]");
      fresh.querySelector(`#${bubble.id}`)?.replaceWith(bubble);
    }
    document.getElementById("scheduled")?.replaceWith(fresh);
    htmx.process(fresh);
  }

  async function fetchNewer(ticket) {
    let more = true;
    while (more && openTicket() === ticket) {
      const { response, text } = await fetchText(`${ticket.dataset.messagesUrl}?after=${newestShown()}`);
      if (!response.ok || openTicket() !== ticket) return;
      mergeMessages(text);
      more = !!response.headers.get("X-More");
    }
  }

  async function catchUpMessages(ticket) {
    // The newest page of the conversation, merged in; older pages already loaded and the composer stay.
    const { response, text } = await fetchText(ticket.dataset.messagesUrl);
    if (response.ok && openTicket() === ticket) mergeMessages(text);
  }

  function mergeMessages(text) {
    // What is missing is added at the end, what is shown is replaced (a status may have moved), and a
    // day's separator only when that day has none yet. Each step looks up only what it adds, never the
    // whole conversation: a burst costs the same on a long conversation as on a short one.
    const template = document.createElement("template");
    template.innerHTML = text;
    const list = document.getElementById("messages");
    const days = list.getElementsByClassName("day"); // live, and one per day: short
    const atBottom = isAtBottom();
    for (const element of [...template.content.children]) {
      if (element.matches(".day")) {
        if (![...days].some((day) => day.dataset.day === element.dataset.day)) list.append(element);
      } else if (element.matches(".msg[id]")) {
        const shown = document.getElementById(element.id);
        if (shown) shown.replaceWith(element);
        else list.append(element);
        htmx.process(element);
      }
    }
    if (!atBottom) return;
    keepNewest(list);
    scrollToBottom();
  }

  // While the agent reads at the bottom, the page keeps the newest KEEP messages: layout, paint and
  // hit tests grow with the bubbles in the page, so a long burst would make each new message cost
  // more than the one before. What goes comes back on scrolling up, as older pages do.
  const KEEP = 200;
  function keepNewest(list) {
    const messages = list.getElementsByClassName("msg"); // live: its length costs nothing
    if (messages.length <= KEEP + KEEP / 4) return; // in steps, not on every message
    const first = messages[messages.length - KEEP];
    let itsDay = null;
    while (list.firstElementChild !== first) {
      const gone = list.firstElementChild;
      if (gone.matches(".day") && gone.dataset.day === first.dataset.day) itsDay = gone;
      gone.remove();
    }
    if (itsDay) list.prepend(itsDay);
    const ticket = openTicket();
    const older = Object.assign(document.createElement("div"), {
      className: "older", textContent: ticket.dataset.olderText,
    });
    older.setAttribute("hx-get", `${ticket.dataset.messagesUrl}?before=${first.id.slice(4)}`);
    older.setAttribute("hx-trigger", "intersect once");
    older.setAttribute("hx-swap", "outerHTML");
    list.prepend(older);
    htmx.process(older);
  }

  function catchUp() {
    // The websocket came back (live.js): events sent while it was down were lost. Read again what
    // they would have changed: the rows, the tabs' counts, the open ticket's header and messages.
    refreshList();
    const ticket = openTicket();
    if (ticket) { catchUpMessages(ticket); refreshScheduled(ticket); }
  }

  function closedTogether(ids) {
    // The audit closes thousands at once: drop the rows here (or read the Closed tab again),
    // instead of asking for each row.
    if (inbox.dataset.tab === "closed") { refreshList(); return; }
    ids.forEach((id) => document.getElementById(`row-${id}`)?.remove());
    document.body.dispatchEvent(new Event("inbox-changed"));
    const ticket = openTicket();
    if (ticket && ids.map(String).includes(ticket.dataset.ticket)) refreshHead(ticket);
  }

  function onEvent(event) {
    if (event.type === "inbox.refresh") { refreshList(); return; }
    if (event.type === "presence.changed") { document.body.dispatchEvent(new Event("helpdesk:presence")); return; }
    if (event.type === "tickets.closed") { closedTogether(event.tickets); return; }
    if (!event.ticket) return;
    refreshRow(event.ticket, event.type === "message.new" ? event.message : null);
    document.body.dispatchEvent(new Event("inbox-changed"));
    const ticket = openTicket();
    if (!ticket || String(event.ticket) !== ticket.dataset.ticket) return;
    if (event.type === "ticket.changed") refreshHead(ticket);
    else if (event.message) onMessageEvent(ticket, event);
  }

  // -- the tabs' counts: read again 300 ms after the last change (a burst asks once), with the list's
  // query as it is then (the tab may have changed since the page was drawn) -----------------------
  let countsDue = null;
  document.body.addEventListener("inbox-changed", () => {
    clearTimeout(countsDue);
    countsDue = setTimeout(() => oneAtATime("counts", refreshCounts), 300);
  });
  async function refreshCounts() {
    const { response, text } = await fetchText(`/inbox/counts/?${query()}`);
    const tabs = document.getElementById("inbox-tabs");
    if (response.ok && tabs) tabs.outerHTML = text;
  }

  // -- what this page did: the action's answer says so (HX-Trigger "ticket-acted"), so the acting
  // page reads its list and counts at once; the bus tells the other pages (onEvent) --------------
  function showTab(tab) {
    // The ticket was accepted from Waiting: the list follows it to Mine, where it now is, and the
    // tabs (refreshList's "inbox-changed"), the search and the URL say so.
    const params = new URLSearchParams(query());
    params.set("tab", tab);
    inbox.dataset.query = params.toString();
    inbox.dataset.tab = tab;
    inbox.querySelector(".inbox-search input[name=tab]").value = tab;
    history.replaceState(history.state, "", `${location.pathname}?${params}`);
    refreshList();
  }
  document.body.addEventListener("ticket-acted", (event) => {
    const { ticket, tab } = event.detail;
    if (tab && inbox.dataset.tab === "waiting") { showTab(tab); return; }
    refreshRow(ticket, null);
    document.body.dispatchEvent(new Event("inbox-changed"));
  });

  // -- notifications: permission asked by a button, once; a short sound ---------------------
  const permission = document.getElementById("notify-permission");
  if ("Notification" in window && Notification.permission === "default") {
    permission.hidden = false;
    permission.addEventListener("click", () => Notification.requestPermission().then(() => { permission.hidden = true; }));
  }
  function muted() { return document.getElementById("mute")?.dataset.muted === "1"; }
  function notify(row) {
    if (muted() || document.hasFocus()) return;
    beep();
    if ("Notification" in window && Notification.permission === "granted" && row) {
      const name = row.querySelector(".name")?.textContent || "";
      const text = row.querySelector(".row-preview")?.textContent.trim() || "";
      const note = new Notification(name, { body: text, tag: `ticket-${row.dataset.ticket}` });
      note.onclick = () => { window.focus(); row.querySelector("a").click(); };
    }
    window.helpdeskNotified = (window.helpdeskNotified || 0) + 1; // for tests and the curious
  }
  function beep() {
    try {
      const audio = new AudioContext();
      const tone = audio.createOscillator();
      const gain = audio.createGain();
      tone.frequency.value = 880;
      gain.gain.setValueAtTime(0.15, audio.currentTime);
      gain.gain.exponentialRampToValueAtTime(0.001, audio.currentTime + 0.25);
      tone.connect(gain).connect(audio.destination);
      tone.start();
      tone.stop(audio.currentTime + 0.25);
    } catch (error) { /* no audio device: the notification is enough */ }
  }

  // -- the conversation's scroll ------------------------------------------------------------
  function conversation() { return document.getElementById("conversation"); }
  function isAtBottom() {
    const box = conversation();
    return !box || box.scrollHeight - box.scrollTop - box.clientHeight < 80;
  }
  function scrollToBottom() { const box = conversation(); if (box) box.scrollTop = box.scrollHeight; }
  function dedupeDays() {
    // After htmx swapped in a page of messages (the pane, older ones): one separator per day, and each
    // message once (one appended live out of order may come again with an older page: the later copy stays).
    const seen = new Set();
    document.querySelectorAll("#messages .day").forEach((day) => {
      if (seen.has(day.dataset.day)) day.remove(); else seen.add(day.dataset.day);
    });
    const last = new Map();
    document.querySelectorAll("#messages .msg[id]").forEach((message) => {
      last.get(message.id)?.remove();
      last.set(message.id, message);
    });
  }
  let keepFromBottom = null;
  document.body.addEventListener("htmx:beforeSwap", (event) => {
    const { requestConfig, xhr } = event.detail;
    if (requestConfig?.elt?.id === "composer" && event.detail.target.id === "messages" && event.detail.shouldSwap) {
      // The sent message may already be here (its live event can beat the answer): merged, never
      // shown twice, not even for the moment between htmx's swap and its settle.
      event.detail.shouldSwap = false;
      mergeMessages(xhr.responseText);
      scrollToBottom();
      return;
    }
    if (event.detail.target.classList?.contains("older")) {
      const box = conversation();
      keepFromBottom = box.scrollHeight - box.scrollTop; // older messages go above: keep the view still
    }
  });
  document.body.addEventListener("htmx:afterSettle", (event) => {
    if (keepFromBottom !== null) {
      const box = conversation();
      box.scrollTop = box.scrollHeight - keepFromBottom;
      keepFromBottom = null;
    }
    dedupeDays();
    if (event.detail.target.id === "ticket-pane") {
      scrollToBottom();
      inbox.classList.add("has-ticket");
      markCurrent();
    }
  });
  function markCurrent() {
    const current = openTicket()?.dataset.ticket;
    rows.querySelectorAll(".ticket-row").forEach((row) => row.classList.toggle("current", row.dataset.ticket === current));
    if (current) document.getElementById(`row-${current}`)?.querySelector(".unread")?.remove();
  }
  window.addEventListener("popstate", () => inbox.classList.toggle("has-ticket", !!openTicket()));

  // -- keyboard: j / k next and previous ticket, r the composer, Esc back to the list -------
  document.addEventListener("keydown", (event) => {
    const typing = event.target.closest("input, textarea, select, [contenteditable]");
    if (event.key === "Escape") {
      if (typing) { event.target.blur(); return; }
      const back = document.querySelector("[data-back]");
      if (back && openTicket()) { event.preventDefault(); back.click(); }
      return;
    }
    if (typing || event.ctrlKey || event.metaKey || event.altKey) return;
    if (event.key === "j" || event.key === "k") {
      const all = [...rows.querySelectorAll(".ticket-row")];
      const open = openTicket()?.dataset.ticket; // the pane, not the row's mark: it may not be settled yet
      const at = all.findIndex((row) => row.dataset.ticket === open);
      const next = all[event.key === "j" ? at + 1 : Math.max(at - 1, 0)];
      next?.querySelector("a").click();
    } else if (event.key === "r") {
      const body = document.getElementById("composer-body");
      if (body) { event.preventDefault(); body.focus(); }
    }
  });
  document.body.addEventListener("click", (event) => {
    const back = event.target.closest("[data-back]");
    if (!back) return;
    event.preventDefault();
    inbox.classList.remove("has-ticket");
    document.getElementById("ticket-pane").innerHTML = "";
    history.pushState({}, "", `/inbox/${query() ? "?" + query() : ""}`);
    markCurrent();
  });

  // -- SLA badges, the rows' and the open ticket's: the server draws each one's state; only the
  // browser knows the time passing, so a badge counts down from its data-due and turns amber at
  // data-warn, red at data-due (the same rounding and texts as tickets/templatetags/inbox.py's
  // sla_left). The watch's live ticket.changed event then brings the row and the header as the
  // server sees them. ---------------------------------------------------------------------------------
  const SLA_TICK = 5000; // ms: a state changes within 5 s of its time
  function slaText(due) {
    const minutes = Math.max(1, Math.ceil((due - Date.now()) / 60000));
    const [unit, n] = minutes < 60 ? ["slaMinutes", minutes]
      : minutes < 48 * 60 ? ["slaHours", Math.floor(minutes / 60)] : ["slaDays", Math.floor(minutes / 1440)];
    return inbox.dataset[unit].replace("{n}", n);
  }
  function slaTick() {
    const now = Date.now();
    for (const badge of inbox.querySelectorAll("[data-sla][data-due]")) {
      const due = Date.parse(badge.dataset.due);
      const state = now >= due ? "breached" : now >= Date.parse(badge.dataset.warn) ? "warning" : "ok";
      badge.classList.replace(`sla-${badge.dataset.sla}`, `sla-${state}`);
      badge.dataset.sla = state;
      badge.textContent = state === "breached" ? inbox.dataset.slaBreached : slaText(due);
      if (state === "breached") delete badge.dataset.due;
    }
  }
  setInterval(slaTick, SLA_TICK);

  scrollToBottom();
  dedupeDays();
  markCurrent();
  document.body.addEventListener("helpdesk:reconnected", catchUp);
  const live = helpdeskLive("/ws/inbox/", onEvent);

  // -- presence: the agent's activity, told to the socket at most once a minute (helpdesk/presence.py:
  // idle for AGENT_AWAY_MINUTES is away). Opening the page counted already. ----------------------
  let activeAt = Date.now();
  function active() {
    if (Date.now() - activeAt < 60000) return;
    activeAt = Date.now();
    live.send({ type: "activity" });
  }
  ["keydown", "click", "focus"].forEach((name) => window.addEventListener(name, active, true));
})();
