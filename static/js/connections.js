// Live connection pages: status badges on the list; status, QR code and log on a connection's page.
(() => {
  const single = document.querySelector("section.connection[data-connection]");
  const path = single ? `/ws/connections/${single.dataset.connection}/` : "/ws/connections/";

  function update(root, connection) {
    const status = root.querySelector('[data-field="status"]');
    status.textContent = connection.status_label;
    status.className = `badge status-${connection.status.toLowerCase()}`;
    const phone = root.querySelector('[data-field="phone"]');
    if (phone) phone.textContent = connection.phone_display || (single ? "" : "—");
    // Each button is enabled in the statuses the server listed for it (whatsapp/selectors.py).
    root.querySelectorAll("button[data-allowed]").forEach((button) => {
      button.disabled = !button.dataset.allowed.split(" ").includes(connection.status);
    });
    const version = root.querySelector('[data-field="web_version"]');
    if (version && connection.web_version) {
      version.textContent = connection.web_version;
      version.parentElement.hidden = false;
    }
    const error = root.querySelector('[data-field="last_error"]');
    if (error) error.textContent = connection.last_error;
    const qr = root.querySelector('[data-field="qr"]');
    if (qr) {
      qr.hidden = !connection.qr_image;
      if (connection.qr_image) document.getElementById("qr-image").src = connection.qr_image;
    }
  }

  function addToLog(event) {
    const log = document.getElementById("log");
    const line = document.createElement("li");
    line.className = event.kind;
    const time = document.createElement("time");
    time.dateTime = event.at;
    time.textContent = event.at_display; // written by the server: the page's time zone and format
    line.append(time, " ");
    if (event.to_status) {
      const change = document.createElement("b");
      change.textContent = `${event.from_status_label || "—"} → ${event.to_status_label}`;
      line.append(change, " ");
    }
    line.append(event.message);
    log.prepend(line);
  }

  // A destructive button (Log out) asks first.
  document.querySelectorAll("form[data-confirm]").forEach((form) => {
    form.addEventListener("submit", (event) => {
      if (!window.confirm(form.dataset.confirm)) event.preventDefault();
    });
  });

  helpdeskLive(path, ({ connection, event }) => {
    const root = single || document.querySelector(`tr[data-connection="${connection.id}"]`);
    if (!root) return location.reload(); // a connection this page does not show yet
    update(root, connection);
    if (single && event) addToLog(event);
  });
})();
