// The overview reads its figures again (htmx, #overview in home.html) when the server says they
// changed, and after a lost connection (events sent meanwhile were lost). The socket's message
// carries no figure: the page reads what its own user may see.
(() => {
  const changed = () => document.body.dispatchEvent(new CustomEvent("overview-changed"));
  helpdeskLive("/ws/dashboard/", changed);
  document.body.addEventListener("helpdesk:reconnected", changed);
})();
