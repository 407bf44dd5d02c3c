// Keeps the overview's figures current as tickets and connections change.
helpdeskLive("/ws/dashboard/", (figures) => {
  for (const [name, value] of Object.entries(figures.tickets)) {
    const cell = document.querySelector(`[data-figure="${name}"]`);
    if (cell) cell.textContent = Number(value).toLocaleString(document.documentElement.lang);
  }
  const section = document.getElementById("connection-figures");
  if (!section || !figures.connections || figures.connections.length === 0) return;
  section.replaceChildren(...figures.connections.map(([status, label, count]) => {
    const link = document.createElement("a");
    link.className = "figure";
    link.href = section.dataset.href;
    const number = document.createElement("strong");
    number.textContent = Number(count).toLocaleString(document.documentElement.lang);
    const badge = document.createElement("span");
    badge.className = `badge status-${status.toLowerCase()}`;
    badge.textContent = label;
    link.append(number, " ", badge);
    return link;
  }));
});
