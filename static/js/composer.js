// The composer: what only a browser can do. Enter sends and Shift+Enter adds a line;
// files come from the button, a drop or a paste and are checked before upload;
// "/" opens the quick replies; Reply quotes a message; Record sends a voice note.
// Sending itself is htmx (the form's hx-post): a refusal (the view's, or the server's
// size limit) lands in #composer-error and the typed text stays; a success
// ("composer-sent") empties the form.
(function () {
  const PROGRAMS = [[0x7f, 0x45, 0x4c, 0x46], [0x4d, 0x5a], [0x23, 0x21, 0x2f]];
  let quickReplies = null;

  function form() { return document.getElementById("composer"); }
  function error(text) { const box = document.getElementById("composer-error"); if (box) box.textContent = text; }

  async function checkFile(file) {
    const composer = form();
    if (file.size > Number(composer.dataset.maxBytes)) return composer.dataset.tooLarge;
    const head = new Uint8Array(await file.slice(0, 4).arrayBuffer());
    if (PROGRAMS.some((magic) => magic.every((byte, i) => head[i] === byte))) return composer.dataset.wrongType;
    return "";
  }

  async function attach(file) {
    const refused = await checkFile(file);
    const input = document.getElementById("composer-media");
    const label = document.getElementById("composer-file-name");
    if (refused) {
      error(refused);
      input.value = "";
      label.hidden = true;
      return;
    }
    error("");
    const files = new DataTransfer();
    files.items.add(file);
    input.files = files.files;
    label.querySelector("span").textContent = file.name;
    document.getElementById("composer-voice").value = ""; // a chosen file is a file; a recording says so after this
    label.hidden = false;
  }

  function reset() {
    const composer = form();
    if (!composer) return;
    composer.reset();
    document.getElementById("composer-voice").value = "";
    document.getElementById("composer-file-name").hidden = true;
    unquote();
    error("");
    const box = document.getElementById("conversation");
    if (box) box.scrollTop = box.scrollHeight;
  }

  function quote(button) {
    const box = document.getElementById("composer-quote");
    box.hidden = false;
    box.querySelector("span").textContent = button.dataset.preview;
    box.querySelector("input").value = button.dataset.quote;
    document.getElementById("composer-body").focus();
  }
  function unquote() {
    const box = document.getElementById("composer-quote");
    if (!box) return;
    box.hidden = true;
    box.querySelector("input").value = "";
  }

  // -- quick replies ------------------------------------------------------------------
  async function loadQuickReplies(list) {
    if (quickReplies === null) {
      const response = await fetch(list.dataset.url, { credentials: "same-origin" });
      quickReplies = response.ok ? (await response.json()).results : [];
    }
    return quickReplies;
  }
  async function showQuickReplies(body) {
    const list = document.getElementById("quick-replies");
    const match = body.value.match(/^\/(\S*)$/);
    if (!match) { list.hidden = true; return; }
    const wanted = match[1].toLowerCase();
    const replies = await loadQuickReplies(list);
    if (body.value !== match[0]) return; // typed on (or chose one) while the list was loading
    const found = replies.filter(
      (reply) => reply.shortcut.toLowerCase().includes(wanted) || reply.body.toLowerCase().includes(wanted));
    list.replaceChildren(...found.map((reply, index) => {
      const item = document.createElement("li");
      item.setAttribute("role", "option");
      item.setAttribute("aria-selected", index === 0 ? "true" : "false");
      item.dataset.body = reply.body;
      item.textContent = `/${reply.shortcut} — ${reply.body}`;
      item.addEventListener("mousedown", (event) => { event.preventDefault(); insert(body, item); });
      return item;
    }));
    list.hidden = found.length === 0;
  }
  function insert(body, item) {
    body.value = item.dataset.body;
    document.getElementById("quick-replies").hidden = true;
    body.focus();
  }
  function moveSelection(list, step) {
    const items = [...list.children];
    const at = items.findIndex((item) => item.getAttribute("aria-selected") === "true");
    const next = items[(at + step + items.length) % items.length];
    items.forEach((item) => item.setAttribute("aria-selected", item === next ? "true" : "false"));
  }

  // -- voice notes ----------------------------------------------------------------------
  let recorder = null;
  async function record(button) {
    if (recorder) { recorder.stop(); return; }
    try {
      const stream = await navigator.mediaDevices.getUserMedia({ audio: true });
      const type = ["audio/ogg;codecs=opus", "audio/webm;codecs=opus"].find((t) => MediaRecorder.isTypeSupported(t));
      recorder = new MediaRecorder(stream, type ? { mimeType: type } : {});
      const chunks = [];
      const label = button.textContent;
      recorder.ondataavailable = (event) => chunks.push(event.data);
      recorder.onstop = async () => {
        stream.getTracks().forEach((track) => track.stop());
        button.textContent = label;
        const mime = recorder.mimeType.split(";")[0];
        recorder = null;
        await attach(new File(chunks, `voice-note.${mime.endsWith("ogg") ? "ogg" : "webm"}`, { type: mime }));
        document.getElementById("composer-voice").value = "on";
        form().requestSubmit();
      };
      recorder.start();
      button.textContent = button.dataset.stop;
    } catch (failure) {
      error(String(failure.message || failure));
    }
  }

  // -- wiring (the composer comes and goes with the ticket pane: delegate to the document) --
  document.addEventListener("keydown", (event) => {
    const body = event.target.closest?.("#composer-body");
    if (!body) return;
    const list = document.getElementById("quick-replies");
    if (!list.hidden && ["ArrowDown", "ArrowUp"].includes(event.key)) {
      event.preventDefault();
      moveSelection(list, event.key === "ArrowDown" ? 1 : -1);
      return;
    }
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      const chosen = !list.hidden && list.querySelector('[aria-selected="true"]');
      if (chosen) insert(body, chosen);
      else if (body.value.trim() || document.getElementById("composer-media").files.length) form().requestSubmit();
    } else if (event.key === "Escape" && !list.hidden) {
      list.hidden = true;
      event.stopPropagation();
    }
  }, true);
  document.addEventListener("input", (event) => {
    if (event.target.id === "composer-body") showQuickReplies(event.target);
  });
  document.addEventListener("change", (event) => {
    if (event.target.id === "composer-media" && event.target.files[0]) attach(event.target.files[0]);
  });
  document.addEventListener("paste", (event) => {
    if (!event.target.closest?.("#composer")) return;
    const file = [...(event.clipboardData?.files || [])][0];
    if (file) { event.preventDefault(); attach(file); }
  });
  document.addEventListener("dragover", (event) => {
    if (event.target.closest?.(".ticket-body")) { event.preventDefault(); form()?.classList.add("dropping"); }
  });
  document.addEventListener("dragleave", () => form()?.classList.remove("dropping"));
  document.addEventListener("drop", (event) => {
    if (!event.target.closest?.(".ticket-body")) return;
    event.preventDefault();
    form()?.classList.remove("dropping");
    const file = event.dataTransfer?.files[0];
    if (file && form()) attach(file);
  });
  document.addEventListener("click", (event) => {
    const quoting = event.target.closest("[data-quote]");
    if (quoting) quote(quoting);
    if (event.target.closest("[data-unquote]")) unquote();
    const recording = event.target.closest("#composer-record");
    if (recording) record(recording);
  });
  document.body.addEventListener("composer-sent", reset);
  // A body over the server's size limit is refused before the view runs (helpdesk/uploads.py): a plain
  // text 413 that would otherwise land in the conversation. It goes where refusals go; the text stays.
  document.body.addEventListener("htmx:beforeSwap", (event) => {
    const { requestConfig, xhr } = event.detail; // detail.elt is the target here, not the form
    if (requestConfig?.elt?.id !== "composer" || xhr.status !== 413 || xhr.getResponseHeader("HX-Retarget")) return;
    event.detail.shouldSwap = false;
    error(xhr.responseText);
  });
  document.body.addEventListener("htmx:beforeRequest", (event) => {
    if (event.detail.elt.id === "composer") error("");
  });
})();
