// A websocket to the helpdesk that reconnects by itself (1 s doubling to 30 s).
// Pages are rendered in full on the server; events only update them in place.
// While the socket is down the base template's #live-reconnecting banner shows; once it is back,
// "helpdesk:reconnected" is dispatched on document.body so pages re-read what they show
// (events sent meanwhile were lost); "helpdesk:live" is dispatched at each opening. Returns {send}:
// a message to the server while the socket is open (dropped while it is down: a hint, not the truth).
window.helpdeskLive = function (path, onEvent) {
  let delay = 1000;
  let lost = false;
  let socket = null;
  const banner = () => document.getElementById("live-reconnecting");
  function open() {
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    socket = new WebSocket(scheme + "//" + location.host + path);
    socket.onopen = () => {
      delay = 1000;
      document.body.dataset.live = "open"; // the server joined its groups before: events now reach the page
      document.body.dispatchEvent(new CustomEvent("helpdesk:live")); // e.g. the header's presence follows
      if (!lost) return;
      lost = false;
      if (banner()) banner().hidden = true;
      document.body.dispatchEvent(new CustomEvent("helpdesk:reconnected"));
    };
    socket.onmessage = (message) => onEvent(JSON.parse(message.data));
    socket.onclose = (closed) => {
      // Signed out (4401) or the right lost (4403): the page reloaded asks to sign in or refuses.
      if (closed.code === 4401 || closed.code === 4403) { location.reload(); return; }
      lost = true;
      document.body.dataset.live = "lost";
      if (banner()) banner().hidden = false;
      setTimeout(open, delay);
      delay = Math.min(delay * 2, 30000);
    };
  }
  open();
  return {
    send(data) {
      if (socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(data));
    },
  };
};
