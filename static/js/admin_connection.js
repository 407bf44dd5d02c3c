// The connection's admin page: its status badge follows the session live.
// The admin loads this in <head>, so it waits for the page before looking for the badge.
document.addEventListener("DOMContentLoaded", () => {
  const match = location.pathname.match(/\/whatsapp\/connection\/(\d+)\/change\//);
  const badge = document.querySelector('[data-field="status"]');
  if (!match || !badge) return;
  helpdeskLive(`/ws/connections/${match[1]}/`, ({ connection }) => {
    badge.textContent = connection.status_label;
    badge.className = `badge status-${connection.status.toLowerCase()}`;
  });
});
