// The live character count under a broadcast's text fields: 「1234 / 5000文字」. LINE counts UTF-16 units, as
// a JavaScript string's length does. Nothing is cut: the server refuses a text over the limit, with its count.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("[data-counter-for]").forEach((counter) => {
    const field = document.querySelector(`textarea[name="${counter.dataset.counterFor}"]`);
    if (!field) return;
    const limit = Number(field.dataset.limit);
    const show = () => {
      const length = field.value.length;
      const over = length - limit;
      counter.textContent = `${length} / ${limit}文字` + (over > 0 ? `（${over}文字多すぎます）` : "");
      counter.classList.toggle("over", over > 0);
    };
    field.addEventListener("input", show);
    show();
  });
});
