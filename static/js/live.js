// A websocket to the helpdesk that reconnects by itself (1 s doubling to 30 s).
// Pages are rendered in full on the server; events only update them in place.
// While the socket is down the base template's #live-reconnecting banner shows; once it is back,
// "helpdesk:reconnected" is dispatched on document.body so pages re-read what they show
// (events sent meanwhile were lost).
// ``greeting`` (optional) returns what the page tells the server on each (re)connection; ``send``
// tells it more later, and is a no-op while the socket is down (the next greeting says it again).
window.helpdeskLive = function (path, onEvent, greeting) {
  let delay = 1000;
  let lost = false;
  let socket = null;
  const banner = () => document.getElementById("live-reconnecting");
  function open() {
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    socket = new WebSocket(scheme + "//" + location.host + path);
    socket.onopen = () => {
      delay = 1000;
      if (greeting) send(greeting());
      if (!lost) return;
      lost = false;
      if (banner()) banner().hidden = true;
      document.body.dispatchEvent(new CustomEvent("helpdesk:reconnected"));
    };
    socket.onmessage = (message) => onEvent(JSON.parse(message.data));
    socket.onclose = (closed) => {
      if (closed.code === 4401) { location.reload(); return; } // signed out: the page asks to sign in
      lost = true;
      if (banner()) banner().hidden = false;
      setTimeout(open, delay);
      delay = Math.min(delay * 2, 30000);
    };
  }
  function send(message) {
    if (socket?.readyState === WebSocket.OPEN) socket.send(JSON.stringify(message));
  }
  open();
  return { send };
};
