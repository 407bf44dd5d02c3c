// Keeps the inbox list current: on any event about a ticket this user may see,
// the list is read again from the server (the same page a reload would show),
// at most once per quarter second however many messages arrive.
(function () {
  let pending = null;
  async function refresh() {
    pending = null;
    const response = await fetch(location.href, { credentials: "same-origin" });
    if (!response.ok) return;
    const fresh = new DOMParser().parseFromString(await response.text(), "text/html").getElementById("inbox-list");
    const list = document.getElementById("inbox-list");
    if (fresh && list) list.replaceChildren(...fresh.childNodes);
  }
  helpdeskLive("/ws/inbox/", () => {
    if (pending === null) pending = setTimeout(refresh, 250);
  });
})();
