// The event form's place block (event_place.html): typing in 会場 offers the known venues (GET
// /console/events/places?q=...), and choosing one fills 会場, 住所, 緯度 and 経度; a map (Leaflet, served by the
// app) puts the pin where the numbers say, and a click or a dragged pin fills them. Without tiles (no internet)
// the map still takes clicks, and a note says the map could not load; without this script the fields are plain.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  const box = document.querySelector("[data-place]");
  if (!box) return;
  const venue = box.querySelector("[data-place-venue]");
  const address = box.querySelector("[data-place-address]");
  const lat = box.querySelector("[data-place-lat]");
  const lon = box.querySelector("[data-place-lon]");
  const list = box.querySelector("[data-place-choices]");
  const note = box.querySelector("[data-place-note]");
  const hint = document.getElementById("place-hint");
  const WARD = [34.663917, 135.460694]; // 港区役所: where the map opens when no place is set
  const MAP_FAILED = "地図の画像を読み込めませんでした（インターネットにつながらないときなど）。" +
    "地図をクリックすれば位置は入ります。緯度・経度の数字や会場の候補も使えます。";
  const mapBox = box.querySelector("[data-place-map]");
  const withMap = Boolean(box.dataset.tiles && mapBox && window.L);
  const NO_POSITION = "この会場は位置が登録されていません。" + (withMap ? "地図をクリックするか、緯度・経度を入れてください。"
    : "緯度・経度を入れてください（わからなければ空のまま保存できます）。");

  const say = (text) => { note.textContent = text; note.hidden = !text; };
  const round6 = (x) => String(Number(x.toFixed(6)));
  const point = () => {
    const a = Number.parseFloat(lat.value.trim()), b = Number.parseFloat(lon.value.trim());
    const ok = lat.value.trim() && lon.value.trim() && Number.isFinite(a) && Number.isFinite(b) &&
      Math.abs(a) <= 90 && Math.abs(b) <= 180;
    return ok ? [a, b] : null;
  };

  // ---------------------------------------------------------------- the map (optional)
  let map = null, marker = null, mapNoteShown = false;
  const setFields = (latlng) => {
    const p = latlng.wrap();
    lat.value = round6(p.lat);
    lon.value = round6(p.lng);
    if (note.textContent === NO_POSITION) say(mapNoteShown ? MAP_FAILED : "");
  };
  const placePin = (p, pan) => {
    if (!map) return;
    if (!p) { if (marker) { marker.remove(); marker = null; } return; }
    if (!marker) {
      marker = window.L.marker(p, { draggable: true, autoPan: true, title: "会場の位置（ドラッグで動かせます）" }).addTo(map);
      marker.on("drag dragend", () => setFields(marker.getLatLng()));
    } else {
      marker.setLatLng(p);
    }
    // not animated: a zoom animation under way ignores the next setView (a clerk types the second number at once)
    if (pan) map.setView(p, Math.max(map.getZoom(), 16), { animate: false });
  };
  const mapFailed = () => { if (!mapNoteShown) { mapNoteShown = true; say(MAP_FAILED); } };

  if (box.dataset.tiles && mapBox && !window.L) {
    say("地図を読み込めませんでした。緯度・経度の数字や会場の候補は使えます。"); // the map's own script did not load
  }
  if (withMap) {
    mapBox.hidden = false;
    box.querySelector("[data-place-tools]").hidden = false;
    const start = point();
    map = window.L.map(mapBox, { scrollWheelZoom: false, keyboard: true }).setView(start || WARD, start ? 16 : 14);
    let loaded = 0;
    const tiles = window.L.tileLayer(box.dataset.tiles, {
      maxZoom: 19, attribution: box.dataset.credit, referrerPolicy: "strict-origin",
    });
    tiles.on("tileload", () => { loaded += 1; });
    tiles.on("tileerror", mapFailed);
    tiles.addTo(map);
    map.attributionControl.setPrefix('<a href="https://leafletjs.com">Leaflet</a>'); // the credit, without a flag
    setTimeout(() => { if (!loaded) mapFailed(); }, 8000); // a network that drops requests answers nothing
    map.on("click", (event) => { setFields(event.latlng); placePin(event.latlng, false); });
    placePin(start, false);
    box.querySelector("[data-place-clear]").addEventListener("click", () => {
      lat.value = "";
      lon.value = "";
      placePin(null);
      lat.focus();
    });
    const typed = () => placePin(point(), true);
    lat.addEventListener("input", typed);
    lon.addEventListener("input", typed);
  }

  // ---------------------------------------------------------------- the place search
  hint.hidden = false;
  let asked = 0, timer = null;
  const close = () => { list.hidden = true; list.replaceChildren(); };
  const choose = (place) => {
    clearTimeout(timer);
    asked++; // an answer still on its way would open the choices again
    venue.value = place.venue;
    address.value = place.address || "";
    if (place.latitude !== null && place.longitude !== null) {
      lat.value = String(place.latitude);
      lon.value = String(place.longitude);
      say(mapNoteShown ? MAP_FAILED : "");
      placePin([place.latitude, place.longitude], true);
    } else {
      lat.value = "";
      lon.value = "";
      placePin(null);
      say(NO_POSITION);
    }
    close();
    venue.focus();
  };
  const show = (places) => {
    list.replaceChildren();
    if (!places.length) {
      const none = document.createElement("p");
      none.className = "none";
      none.textContent = "候補はありません（そのまま入力できます）";
      list.append(none);
    }
    for (const place of places) {
      const button = document.createElement("button");
      button.type = "button";
      button.dataset.placeChoice = place.venue;
      const name = document.createElement("span");
      name.className = "name";
      name.textContent = place.venue;
      const where = document.createElement("span");
      where.className = "where";
      where.textContent = place.address || "";
      const pin = document.createElement("span");
      const known = place.latitude !== null && place.longitude !== null;
      pin.className = known ? "pin yes" : "pin no";
      pin.textContent = known ? "位置あり" : "位置なし";
      button.append(name, where, pin);
      if (place.used) {
        const used = document.createElement("span");
        used.className = "used";
        used.textContent = "これまでのイベントの会場";
        button.append(used);
      }
      button.addEventListener("click", () => choose(place));
      list.append(button);
    }
    list.hidden = false;
  };
  const lookUp = async () => {
    const mine = ++asked;
    try {
      const url = `${box.dataset.placesUrl}?q=${encodeURIComponent(venue.value.trim())}`;
      const response = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
      if (!response.ok || mine !== asked) return;
      const data = await response.json();
      if (mine === asked && document.activeElement === venue) show(data.places);
    } catch {
      // no suggestions: the field is a plain field
    }
  };
  venue.addEventListener("input", () => {
    clearTimeout(timer);
    if (!venue.value.trim()) { asked++; close(); return; }
    timer = setTimeout(lookUp, 150);
  });
  const buttons = () => [...list.querySelectorAll("button")];
  venue.addEventListener("keydown", (event) => {
    if (event.key === "ArrowDown") {
      event.preventDefault();
      if (list.hidden) { lookUp(); return; }
      buttons()[0]?.focus();
    } else if (event.key === "Escape") {
      close();
    }
  });
  list.addEventListener("keydown", (event) => {
    const all = buttons(), at = all.indexOf(document.activeElement);
    if (event.key === "ArrowDown" && at >= 0) { event.preventDefault(); all[Math.min(at + 1, all.length - 1)].focus(); }
    if (event.key === "ArrowUp" && at >= 0) { event.preventDefault(); (at ? all[at - 1] : venue).focus(); }
    if (event.key === "Escape") { event.preventDefault(); close(); venue.focus(); }
  });
  // a click or a tap elsewhere, or Tab away from the field and its choices, closes them (a tap on a choice does
  // not focus it in every browser: Safari's buttons take no focus, so focus alone cannot tell)
  const inside = (node) => node === venue || list.contains(node);
  document.addEventListener("pointerdown", (event) => { if (!inside(event.target)) close(); });
  box.addEventListener("focusout", (event) => {
    if (event.relatedTarget && !inside(event.relatedTarget)) close();
  });
});
