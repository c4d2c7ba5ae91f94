// 「自分のLINE」: while a code is shown, look every few seconds whether the bot has linked the LINE account, and
// show the page anew once it has. Without this script the page's reload link does the same.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  const box = document.getElementById("my-line");
  if (!box || !("watch" in box.dataset)) return;
  const timer = setInterval(async () => {
    const response = await fetch(box.dataset.stateUrl, { credentials: "same-origin" });
    if (!response.ok) return;
    const data = await response.json();
    if (String(data.user ?? "") !== box.dataset.user) {
      clearInterval(timer);
      window.location.assign(data.user ? "/console/staff/me?notice=line_linked" : "/console/staff/me");
    }
  }, 3000);
});
