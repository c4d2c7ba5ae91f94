"""An event's place in the console (issue #15, point 1): a place search and a pin on a map.

Typing in 会場 offers the ward's venues and every venue events already used with coordinates (events/venues.py,
GET /console/events/places, folded for kana and width); choosing one fills 会場, 住所, 緯度 and 経度. A map
(Leaflet, served by the app: no CDN) takes a click or a dragged pin into 緯度/経度 and moves the pin to numbers
typed. Without tiles (no internet, as here) the map still takes clicks and a note says it could not load; with
MAP_TILE_URL empty there is no map and the rest works. A form error keeps the chosen place.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from sqlalchemy import select

from bot import clock
from db.models import Event
from events import messages, venues
from events import service as events
from events.schema import EventInput
from tests.helpers import (
    PASSWORD,
    actions,
    browser_page,
    logged_in,
    make_settings,
    make_staff,
    screenshot,
    served,
    wait_for,
    work,
)

SIZES = [pytest.param((1280, 800), id="desk"), pytest.param((768, 1024), id="tablet")]
UNREACHABLE_TILES = "https://127.0.0.1:9/{z}/{x}/{y}.png"  # nothing listens there: every tile fails at once
PARK = next(p for p in venues.KNOWN if p.venue == "八幡屋公園芝生広場")


def used_venue(sessions: Any, venue: str = "市岡グラウンド", lat: float = 34.6671, lon: float = 135.4633) -> int:
    """An event already held somewhere with coordinates (test data, not a real venue)."""
    with work(sessions) as unit:
        start = dt.datetime(2030, 5, 10, 10, tzinfo=clock.JST)
        return events.create(unit, EventInput(
            title="ラジオ体操", kind="event", starts_at=start, ends_at=start + dt.timedelta(hours=1), venue=venue,
            address="大阪市港区市岡2丁目", latitude=lat, longitude=lon)).id


# --------------------------------------------------------------------------- the lookup and the route


def test_places_fold_kana_and_width_and_bring_the_venues_events_used(client, sessions):
    used_venue(sessions)
    used_venue(sessions, venue="港区民センター", lat=34.6661, lon=135.4622)  # now known with a position
    used_venue(sessions, venue="八幡屋公園", lat=PARK.latitude, lon=PARK.longitude)  # another position
    logged_in(client, sessions, role="viewer")

    def names(q: str) -> list[str]:
        response = client.get("/console/events/places", params={"q": q})
        assert response.status_code == 200
        return [p["venue"] for p in response.json()["places"]]

    assert names("やはたや")[:3] == ["八幡屋公園", "八幡屋公園芝生広場", "八幡屋公園一帯"]
    assert names("ﾔﾊﾀﾔ") == names("ヤハタヤ") == names("やはたや")  # half-width, katakana, hiragana
    assert names("八幡屋").count("八幡屋公園") == 2  # the known one and the one used elsewhere in the park
    assert names("ｸﾞﾗｳﾝﾄﾞ") == names("グラウンド") == ["市岡グラウンド"]
    assert names("市岡")[:2] == ["市岡グラウンド", "港区役所"]  # by name first, then by address
    assert names("てんぽうざん")[0] == "天保山公園" and "天保山公園" in names("築港")
    assert names("存在しない会場") == []

    found = client.get("/console/events/places", params={"q": "港区民センター"}).json()["places"]
    assert found == [{"venue": "港区民センター", "address": "大阪市港区市岡2丁目", "latitude": 34.6661,
                      "longitude": 135.4622, "used": True}]  # the known one without a position gave way
    office = client.get("/console/events/places", params={"q": "くやくしょ"}).json()["places"][0]
    assert office == {"venue": "港区役所", "address": "大阪市港区市岡1丁目15-25", "latitude": 34.663917,
                      "longitude": 135.460694, "used": False}


def test_places_are_for_staff_only(client, sessions):
    response = client.get("/console/events/places", params={"q": "八幡屋"}, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].startswith("/console/login")


def test_every_known_venue_is_in_the_ward_and_has_both_coordinates_or_none():
    for place in venues.KNOWN:
        assert place.address.startswith("大阪市港区"), place
        assert (place.latitude is None) == (place.longitude is None), place
        if place.latitude is not None:  # Minato ward: 34.64–34.68 N, 135.42–135.47 E
            assert 34.64 < place.latitude < 34.68 and 135.42 < place.longitude < 135.47, place


def test_the_form_links_the_map_only_with_a_tile_url(app_factory, sessions):
    client = app_factory(map_tile_url="")
    logged_in(client, sessions)
    page = client.get("/console/events/new").text
    assert "leaflet" not in page and "data-place-map" not in page
    assert 'src="/console/static/event_place.js"' in page and 'name="latitude"' in page
    with_map = app_factory()
    logged_in(with_map, sessions, name="港 次郎")
    page = with_map.get("/console/events/new").text
    assert 'src="/console/static/vendor/leaflet/leaflet.js"' in page and "data-place-map" in page
    assert 'data-tiles="https://tile.openstreetmap.org/{z}/{x}/{y}.png"' in page
    assert "OpenStreetMap" in page  # the credit the tile policy asks for
    assert "cdn" not in page.lower() and "unpkg" not in page
    script = with_map.get("/console/static/vendor/leaflet/leaflet.js")
    assert script.status_code == 200 and 'version="1.9.4"' in script.text
    assert with_map.get("/console/static/vendor/leaflet/images/marker-icon.png").status_code == 200


# --------------------------------------------------------------------------- in the browser


def _log_in(page: Any, base: str) -> None:
    page.goto(base + "/console/login")
    page.fill("input[name=name]", "港 花子")
    page.fill("input[name=password]", PASSWORD)
    page.click("button:has-text('ログイン')")
    page.wait_for_selector("h1:has-text('ダッシュボード')")


def _watch(page: Any) -> list[str]:
    """Script errors and refusals by the page's CSP (failed tile requests are expected here: no internet)."""
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(f"script error: {error}"))
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" and (
        "Refused" in m.text or "Content Security Policy" in m.text) else None)
    return problems


def _new_event(page: Any, base: str, title: str = "みなと朝市") -> None:
    page.goto(base + "/console/events/new")
    page.fill("input[name=title]", title)
    page.fill("input[name=starts_at]", "2030-06-01T09:00")
    page.fill("input[name=ends_at]", "2030-06-01T12:00")


def _choose(page: Any, typed: str, venue: str) -> None:
    page.click("input[name=venue]")
    page.keyboard.type(typed)  # key by key, as a clerk types
    page.click(f"[data-place-choices] button[data-place-choice='{venue}']")


def _fields(page: Any) -> dict[str, str]:
    return {name: page.input_value(f"input[name={name}]") for name in ("venue", "address", "latitude", "longitude")}


def _saved_event(page: Any, sessions: Any) -> Event:
    page.click("button[type=submit]:has-text('保存')")
    page.wait_for_selector("p.notice:has-text('登録しました')")
    event_id = int(re.search(r"/console/events/(\d+)", page.url).group(1))
    with sessions() as session:
        event = session.get(Event, event_id)
        session.expunge(event)
        return event


@pytest.mark.parametrize("size", SIZES)
def test_browser_the_place_search_fills_the_four_fields_and_saving_gives_the_card_its_map(
        database_url, sessions, size):
    make_staff(sessions)
    used_venue(sessions)
    width, height = size
    with served(make_settings(database_url, None)) as base, browser_page() as page:
        page.set_viewport_size({"width": width, "height": height})
        tile_requests: list[str] = []

        def no_internet(route: Any) -> None:
            tile_requests.append(route.request.url)
            route.abort()

        page.route(re.compile(r"^https://tile\.openstreetmap\.org/"), no_internet)
        problems = _watch(page)
        _log_in(page, base)
        _new_event(page, base)
        page.click("input[name=venue]")
        page.keyboard.type("ｼﾊﾞﾌ")  # half-width katakana for 芝生広場's reading
        first = page.locator("[data-place-choices] button").first
        wait_for(lambda: first.count() and first.inner_text().startswith("八幡屋公園芝生広場"), 10,
                 "the choices for the whole word (those for its first letters may come first)")
        assert page.locator("[data-place-choices] button").count() == 1
        page.fill("input[name=venue]", "")
        page.keyboard.type("市岡")
        page.wait_for_selector("[data-place-choices] button[data-place-choice='市岡グラウンド']")
        assert "これまでのイベントの会場" in page.inner_text("[data-place-choices]")  # with its position
        assert "位置あり" in page.inner_text("[data-place-choices]")
        screenshot(page, f"console-places-choices-{width}")
        page.fill("input[name=venue]", "")
        _choose(page, "やはたや", PARK.venue)
        assert _fields(page) == {"venue": PARK.venue, "address": PARK.address, "latitude": str(PARK.latitude),
                                 "longitude": str(PARK.longitude)}
        assert page.locator("[data-place-choices]").is_hidden()
        assert page.locator(".leaflet-marker-icon").count() == 1  # the pin is on the chosen place
        page.wait_for_selector("[data-place-note]:has-text('地図の画像を読み込めませんでした')")
        assert tile_requests, "the map asked for tiles (and got none)"
        page.fill("input[name=tags]", "こども")
        screenshot(page, f"console-places-chosen-{width}")
        event = _saved_event(page, sessions)
        assert (event.venue, event.address, event.latitude, event.longitude) == (
            PARK.venue, PARK.address, PARK.latitude, PARK.longitude)
        assert "地図" in [a["label"] for a in actions([messages.card(event, base)])]
        assert _fields(page)["latitude"] == str(PARK.latitude)  # the saved page shows the pin again
        assert page.locator(".leaflet-marker-icon").count() == 1
        screenshot(page, f"console-places-saved-{width}")
        assert problems == []


@pytest.mark.parametrize("size", SIZES)
def test_browser_a_click_on_the_map_a_dragged_pin_and_typed_numbers_without_tiles(database_url, sessions, size):
    make_staff(sessions)
    width, height = size
    with served(make_settings(database_url, None, map_tile_url=UNREACHABLE_TILES)) as base, \
            browser_page() as page:
        page.set_viewport_size({"width": width, "height": height})
        problems = _watch(page)
        _log_in(page, base)
        _new_event(page, base, "防災訓練")
        page.wait_for_selector("[data-place-note]:has-text('地図の画像を読み込めませんでした')")
        the_map = page.locator("#place-map")
        the_map.scroll_into_view_if_needed()
        box = the_map.bounding_box()
        assert page.locator(".leaflet-marker-icon").count() == 0

        the_map.click(position={"x": box["width"] / 2 - 100, "y": box["height"] / 2 - 60})  # up and left of 港区役所
        clicked = _fields(page)
        lat, lon = float(clicked["latitude"]), float(clicked["longitude"])
        assert 34.663917 < lat < 34.70 and 135.42 < lon < 135.460694
        assert all(len(v.split(".")[1]) <= 6 for v in (clicked["latitude"], clicked["longitude"]))
        assert page.locator(".leaflet-marker-icon").count() == 1

        pin = page.locator(".leaflet-marker-icon").bounding_box()
        x, y = pin["x"] + pin["width"] / 2, pin["y"] + pin["height"] - 8
        page.mouse.move(x, y)
        page.mouse.down()
        page.mouse.move(x + 60, y + 40, steps=8)
        page.mouse.move(x + 120, y + 80, steps=8)
        page.mouse.up()
        dragged = _fields(page)
        assert float(dragged["latitude"]) < lat and float(dragged["longitude"]) > lon  # down and right
        screenshot(page, f"console-places-pin-{width}")

        page.fill("input[name=latitude]", "34.658056")  # typed numbers move the pin (and the map to it)
        page.fill("input[name=longitude]", "135.432778")

        def pin_at_centre() -> bool:
            pin, now = page.locator(".leaflet-marker-icon").bounding_box(), the_map.bounding_box()  # page may scroll
            tip = (pin["x"] + pin["width"] / 2, pin["y"] + pin["height"])  # the icon's point is its bottom
            return abs(tip[0] - (now["x"] + now["width"] / 2)) < 3 and abs(tip[1] - (now["y"] + now["height"] / 2)) < 3

        wait_for(pin_at_centre, 5, "the pin at the typed place, in the middle of the map")
        page.click("button:has-text('地図の位置を消す')")
        assert _fields(page)["latitude"] == "" and _fields(page)["longitude"] == ""
        assert page.locator(".leaflet-marker-icon").count() == 0
        page.fill("input[name=venue]", "港区役所 前の広場")
        page.fill("input[name=latitude]", "34.6639")
        page.fill("input[name=longitude]", "135.4607")
        event = _saved_event(page, sessions)
        assert (event.latitude, event.longitude) == (34.6639, 135.4607)
        assert problems == []


@pytest.mark.parametrize("size", SIZES)
def test_browser_without_a_map_the_search_and_the_numbers_still_work(database_url, sessions, size):
    make_staff(sessions)
    width, height = size
    with served(make_settings(database_url, None, map_tile_url="")) as base, browser_page() as page:
        page.set_viewport_size({"width": width, "height": height})
        problems = _watch(page)
        asked: list[str] = []
        page.on("request", lambda request: asked.append(request.url))
        _log_in(page, base)
        _new_event(page, base, "区民ウォーキング")
        assert page.locator("#place-map").count() == 0 and page.locator(".leaflet-container").count() == 0
        assert not any("leaflet" in url for url in asked)
        _choose(page, "てんぽうざん", "天保山公園")
        assert _fields(page)["latitude"] == "34.658056" and _fields(page)["longitude"] == "135.432778"
        page.fill("input[name=venue]", "")
        _choose(page, "みなとくみん", "港区民センター")  # known without a position
        assert _fields(page) == {"venue": "港区民センター", "address": next(
            p.address for p in venues.KNOWN if p.venue == "港区民センター"), "latitude": "", "longitude": ""}
        assert "位置が登録されていません" in page.inner_text("[data-place-note]")
        screenshot(page, f"console-places-no-map-{width}")
        page.fill("input[name=latitude]", "34.6660")
        page.fill("input[name=longitude]", "135.4610")
        event = _saved_event(page, sessions)
        assert (event.venue, event.latitude, event.longitude) == ("港区民センター", 34.666, 135.461)
        assert problems == []


@pytest.mark.parametrize("size", SIZES)
def test_browser_a_form_error_keeps_the_chosen_place(database_url, sessions, size):
    make_staff(sessions)
    width, height = size
    with served(make_settings(database_url, None, map_tile_url=UNREACHABLE_TILES)) as base, \
            browser_page() as page:
        page.set_viewport_size({"width": width, "height": height})
        problems = _watch(page)
        _log_in(page, base)
        _new_event(page, base, "わんぱく相撲")
        page.fill("input[name=ends_at]", "2030-06-01T08:00")  # before the start
        _choose(page, "やはたやこうえん", "八幡屋公園")
        page.click("button[type=submit]:has-text('保存')")
        page.wait_for_selector(".field-error:has-text('開始より後にしてください')")
        place = next(p for p in venues.KNOWN if p.venue == "八幡屋公園")
        assert _fields(page) == {"venue": place.venue, "address": place.address, "latitude": str(place.latitude),
                                 "longitude": str(place.longitude)}
        assert page.locator(".leaflet-marker-icon").count() == 1  # the pin where it was
        screenshot(page, f"console-places-error-{width}")
        page.fill("input[name=ends_at]", "2030-06-01T12:00")
        event = _saved_event(page, sessions)
        assert (event.venue, event.latitude, event.longitude) == (place.venue, place.latitude, place.longitude)
        with sessions() as session:
            assert session.scalars(select(Event.title)).all() == ["わんぱく相撲"]
        assert problems == []


def test_browser_when_the_map_script_cannot_load_the_fields_still_work(database_url, sessions):
    make_staff(sessions)
    with served(make_settings(database_url, None, map_tile_url=UNREACHABLE_TILES)) as base, browser_page() as page:
        page.route("**/vendor/leaflet/leaflet.js", lambda route: route.abort())  # e.g. a proxy that strips it
        _log_in(page, base)
        _new_event(page, base, "清掃活動")
        page.wait_for_selector("[data-place-note]:has-text('地図を読み込めませんでした')")
        assert page.locator("#place-map").is_hidden() and page.locator("[data-place-tools]").is_hidden()
        _choose(page, "べんてん", "弁天町駅")
        assert _fields(page)["latitude"] == "34.66917" and _fields(page)["longitude"] == "135.46278"
        event = _saved_event(page, sessions)
        assert (event.venue, event.latitude) == ("弁天町駅", 34.66917)
