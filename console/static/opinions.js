// The inbox's figures of the feedback loop, refreshed every few seconds: a rating tapped in LINE shows at once.
// The page works without it (the figures are computed when the page is opened).
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  const box = document.getElementById("figures");
  if (!box) return;
  const pct = (v) => (v === null || v === undefined ? "—" : `${v.toFixed(1)}%`);
  const days = (v) => (v === null || v === undefined ? "—" : `${v.toFixed(1)}日`);
  const shown = (key, value) => {
    if (key === "met") return value === null ? "—" : (value ? "達成" : "未達成");
    if (key.endsWith("share_answered") || key.endsWith("share_satisfied")) return pct(value);
    if (key.endsWith("median_days")) return days(value);
    return String(value);
  };
  const pick = (data, path) => path.split(".").reduce((node, part) => (node == null ? undefined : node[part]), data);
  const refresh = async () => {
    const response = await fetch(box.dataset.url, { credentials: "same-origin" });
    if (!response.ok) return;
    const data = await response.json();
    box.querySelectorAll("[data-figure]").forEach((el) => {
      const value = pick(data, el.dataset.figure);
      if (value !== undefined) el.textContent = shown(el.dataset.figure, value);
    });
  };
  setInterval(refresh, 3000);
});
