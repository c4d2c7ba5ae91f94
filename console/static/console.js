// Light help only: every page works without it.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  // Ask before a form that sends, cancels or unlinks.
  document.querySelectorAll("form[data-confirm]").forEach((form) => {
    form.addEventListener("submit", (event) => {
      if (!window.confirm(form.dataset.confirm)) event.preventDefault();
    });
  });
  document.querySelectorAll("button[data-confirm]").forEach((button) => {
    button.addEventListener("click", (event) => {
      if (!window.confirm(button.dataset.confirm)) event.preventDefault();
    });
  });
  document.querySelectorAll("[data-print]").forEach((b) => b.addEventListener("click", () => window.print()));

  // In the compose form, show only the fields of the chosen message type.
  document.querySelectorAll("[data-slot]").forEach((slot) => {
    const select = slot.querySelector("[data-kind]");
    const update = () => slot.querySelectorAll("[data-for]").forEach((part) => {
      part.hidden = part.dataset.for !== select.value;
    });
    select.addEventListener("change", update);
    update();
  });

  // A running broadcast: refresh the progress every second until it is done.
  const box = document.getElementById("progress");
  if (box && ["scheduled", "sending"].includes(box.dataset.status)) {
    const timer = setInterval(async () => {
      const response = await fetch(box.dataset.url, { credentials: "same-origin" });
      if (!response.ok) return;
      const data = await response.json();
      box.querySelector("progress").value = data.percent;
      box.querySelectorAll("[data-field]").forEach((el) => { el.textContent = data[el.dataset.field]; });
      if (data.status === "done" || data.status === "cancelled") clearInterval(timer);
    }, 1000);
  }
});
