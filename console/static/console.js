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

  // A form is sent once: a second click (or a double click) while the page is on its way does nothing. (The
  // server refuses a second send too; this only spares the clerk the refusal.) Listeners above run first, so a
  // form whose confirmation was declined is not counted as sent.
  document.querySelectorAll("form[method=post]").forEach((form) => {
    form.addEventListener("submit", (event) => {
      if (event.defaultPrevented) return;
      if (form.dataset.sending) { event.preventDefault(); return; }
      form.dataset.sending = "1";
      form.classList.add("sending");
    });
  });
  // Back to a page from the browser's cache: its forms may be sent again.
  window.addEventListener("pageshow", () => document.querySelectorAll("form[data-sending]").forEach((form) => {
    delete form.dataset.sending;
    form.classList.remove("sending");
  }));

  // 当日の状況: the notice a button sends, with the message typed, for the button pointed at (by default 中止).
  const preview = document.getElementById("day-preview");
  if (preview) {
    const form = preview.closest("form");
    const notices = JSON.parse(preview.dataset.previews);
    const message = form.querySelector("textarea[name=message]");
    const rain = form.querySelector("input[name=rain]");
    let chosen = "cancelled";
    const show = () => {
      const notice = notices[chosen === "cancelled" && rain && rain.checked ? "rain" : chosen];
      preview.querySelector("[data-preview-label]").textContent = notice.label;
      preview.querySelector("[data-preview-text]").textContent =
        [notice.head, notice.body, message.value.trim()].filter(Boolean).join("\n");
    };
    form.querySelectorAll("button[name=day]").forEach((button) => ["mouseenter", "focus"].forEach((kind) =>
      button.addEventListener(kind, () => { chosen = button.value; show(); })));
    message.addEventListener("input", show);
    if (rain) rain.addEventListener("change", show);
    show();
  }

  // In the compose form, show only the fields of the chosen message type.
  document.querySelectorAll("[data-slot]").forEach((slot) => {
    const select = slot.querySelector("[data-kind]");
    const update = () => slot.querySelectorAll("[data-for]").forEach((part) => {
      part.hidden = part.dataset.for !== select.value;
    });
    select.addEventListener("change", update);
    update();
  });

  // A broadcast booked or running: refresh its state (the heading's too) until it is done. A booked one is
  // looked at every few seconds, and its page is opened anew once it starts.
  const box = document.getElementById("progress");
  if (box && ["scheduled", "sending"].includes(box.dataset.status)) {
    const booked = box.dataset.status === "scheduled";
    const timer = setInterval(async () => {
      const response = await fetch(box.dataset.url, { credentials: "same-origin" });
      if (!response.ok) return;
      const data = await response.json();
      if (booked) {
        if (data.status !== "scheduled") { clearInterval(timer); window.location.assign(box.dataset.page); }
        return;
      }
      const bar = box.querySelector("progress");
      if (bar) bar.value = data.percent;
      document.querySelectorAll("[data-field]").forEach((el) => {
        if (el.dataset.field in data) el.textContent = data[el.dataset.field];
      });
      if (data.status === "done" || data.status === "cancelled") clearInterval(timer);
    }, booked ? 5000 : 1000);
  }
});
