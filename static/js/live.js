// A websocket to the helpdesk that reconnects by itself (1 s doubling to 30 s).
// Pages are rendered in full on the server; events only update them in place.
window.helpdeskLive = function (path, onEvent) {
  let delay = 1000;
  function open() {
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    const socket = new WebSocket(scheme + "//" + location.host + path);
    socket.onopen = () => { delay = 1000; };
    socket.onmessage = (message) => onEvent(JSON.parse(message.data));
    socket.onclose = (closed) => {
      if (closed.code === 4401) { location.reload(); return; } // signed out: the page asks to sign in
      setTimeout(open, delay);
      delay = Math.min(delay * 2, 30000);
    };
  }
  open();
};
