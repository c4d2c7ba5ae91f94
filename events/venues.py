"""Places for an event's 会場: the ward's well-known venues and every venue that events already used with
coordinates, matched the way residents' words are (events.search.fold: width, kana, 祭り/まつり folded), so the
event form can fill 会場, 住所, 緯度 and 経度 from a few typed letters, without the internet.

Coordinates are given only where they are known for sure; a venue without them fills 会場 and 住所, and the clerk
puts the pin on the map (or types the numbers).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from db.models import Event
from events.search import fold

MAX_PLACES = 8
USED_SCAN = 300  # distinct venues of past events looked at (a ward has far fewer)


@dataclass(frozen=True)
class Place:
    venue: str
    address: str = ""
    latitude: float | None = None
    longitude: float | None = None
    readings: tuple[str, ...] = ()  # kana and other names a clerk may type (やはたや for 八幡屋)
    used: bool = False  # taken from an event already in the database

    def as_dict(self) -> dict[str, object]:
        return {"venue": self.venue, "address": self.address, "latitude": self.latitude,
                "longitude": self.longitude, "used": self.used}


# The ward's venues. Names from the ward's documents and the demo data; coordinates only where sure: the demo
# data's, the ward office's published position, 弁天町駅's, and 天保山's triangulation point (34°39′29″N,
# 135°25′58″E).
KNOWN: tuple[Place, ...] = (
    Place("港区役所", "大阪市港区市岡1丁目15-25", 34.663917, 135.460694, ("みなとくやくしょ", "くやくしょ", "区役所")),
    Place("八幡屋公園", "大阪市港区田中3丁目", 34.6650, 135.4495, ("やはたやこうえん",)),
    Place("八幡屋公園芝生広場", "大阪市港区田中3丁目", 34.6647, 135.4499, ("やはたやこうえんしばふひろば",)),
    Place("八幡屋公園一帯", "大阪市港区田中3丁目", 34.6647, 135.4499, ("やはたやこうえんいったい",)),
    Place("大阪市中央体育館（八幡屋公園内）", "大阪市港区田中3丁目1-40", None, None,
          ("おおさかしちゅうおうたいいくかん", "ちゅうおうたいいくかん", "体育館")),
    Place("大阪ベイタワー２階広場", "大阪市港区弁天1丁目2", 34.6694, 135.4622, ("おおさかべいたわー", "べいたわー")),
    Place("弁天町駅", "大阪市港区波除3丁目", 34.66917, 135.46278, ("べんてんちょう", "弁天町駅前")),
    # moved in April 2024 into the 港区土地区画整理記念・交流会館
    Place("港区民センター", "大阪市港区磯路1丁目7-17 港区土地区画整理記念・交流会館6階", None, None,
          ("みなとくみんせんたー", "くみんせんたー")),
    Place("天保山公園", "大阪市港区築港3丁目", 34.658056, 135.432778,
          ("てんぽうざん", "てんぽうざんこうえん", "築港", "ちっこう")),
    Place("海遊館", "大阪市港区海岸通1丁目1-10", None, None,
          ("かいゆうかん", "天保山", "てんぽうざん", "築港", "ちっこう")),
)


def _used(session: Session) -> list[Place]:
    """The distinct venues of events with coordinates, the most recently used first."""
    rows = session.execute(
        select(Event.venue, Event.address, Event.latitude, Event.longitude)
        .where(Event.venue.is_not(None), Event.venue != "", Event.latitude.is_not(None),
               Event.longitude.is_not(None))
        .group_by(Event.venue, Event.address, Event.latitude, Event.longitude)
        .order_by(func.max(Event.starts_at).desc())
        .limit(USED_SCAN))
    return [Place(venue, address or "", latitude, longitude, used=True)
            for venue, address, latitude, longitude in rows]


def _rank(place: Place, query: str) -> int | None:
    """0: the name (or a reading) starts with what was typed; 1: contains it; 2: the address does; None: no match."""
    if not query:
        return 1
    names = [fold(place.venue), *(fold(r) for r in place.readings)]
    if any(name.startswith(query) for name in names):
        return 0
    if any(query in name for name in names):
        return 1
    if query in fold(place.address):
        return 2
    return None


def _rounded(value: float | None) -> float | None:
    return round(value, 5) if value is not None else None


def _key(place: Place) -> tuple[str, float | None, float | None]:
    return fold(place.venue), _rounded(place.latitude), _rounded(place.longitude)


def search(session: Session, text: str, limit: int = MAX_PLACES) -> list[Place]:
    """Places whose name, reading or address holds the typed text (all of them for an empty text, up to limit):
    the known venues and the database's in one list, best matches first; each place once."""
    used = _used(session)
    with_coordinates = {fold(p.venue) for p in used}
    # a known venue without coordinates gives way to the same venue used with coordinates
    candidates = [p for p in KNOWN if p.latitude is not None or fold(p.venue) not in with_coordinates] + used
    query = fold(text.strip())
    found: dict[tuple[str, float | None, float | None], tuple[int, int, Place]] = {}
    for order, place in enumerate(candidates):
        rank = _rank(place, query)
        if rank is not None and _key(place) not in found:
            found[_key(place)] = (rank, order, place)
    return [place for _rank_, _order, place in sorted(found.values(), key=lambda t: (t[0], t[1]))][:limit]
