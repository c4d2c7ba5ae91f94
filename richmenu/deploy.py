"""`python main.py richmenu deploy|preview`: put the two menus on LINE (idempotent) or write their images."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
from pathlib import Path
from typing import Any

from sqlalchemy import select

from bot import clock
from bot.gateway import RICH_MENU_FLAG, LineGateway
from db.base import transaction
from db.models import Member, SystemFlag, User
from richmenu import images
from richmenu.menus import MENUS, request_body

log = logging.getLogger(__name__)
PREFIX = "minato-"
MAX_CHANGES_PER_HOUR = 100  # LINE's limit on creating and deleting rich menus
CHANGES_FLAG = "rich_menu_changes"


def preview(directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for kind in MENUS:
        path = directory / f"richmenu-{kind}.png"
        path.write_bytes(images.render(kind))
        written.append(path)
    return written


def _spend_budget(sessions: Any, changes: int) -> None:
    """Count creations and deletions against LINE's 100 an hour, across runs (kept in the database)."""
    if not changes:
        return
    now = clock.now()
    with transaction(sessions) as session:
        flag = session.get(SystemFlag, CHANGES_FLAG) or SystemFlag(key=CHANGES_FLAG, value={"at": []})
        recent = [t for t in flag.value.get("at", []) if now - dt.datetime.fromisoformat(t) < dt.timedelta(hours=1)]
        if len(recent) + changes > MAX_CHANGES_PER_HOUR:
            raise RuntimeError(f"LINE allows {MAX_CHANGES_PER_HOUR} rich menu changes an hour and {len(recent)} were "
                               "made in the last hour; run the deploy again later")
        flag.value = {"at": [*recent, *[now.isoformat()] * changes]}
        session.add(flag)


def _planned() -> dict[str, tuple[str, dict[str, Any], bytes]]:
    """kind -> (name, body, image); the name carries a digest of both, so an unchanged menu is recognised."""
    out = {}
    for kind in MENUS:
        image = images.render(kind)
        digest = hashlib.sha256(json.dumps(request_body(kind, ""), sort_keys=True).encode() + image).hexdigest()
        name = f"{PREFIX}{kind}-{digest[:12]}"
        out[kind] = (name, request_body(kind, name), image)
    return out


async def deploy(gateway: LineGateway, sessions: Any) -> dict[str, Any]:
    """Create (or reuse) both menus, make the residents' the default, link every linked member to the members'
    menu, and delete our older menus. Running it twice changes nothing the second time."""
    plan = _planned()
    existing = await gateway.rich_menus()
    by_name = {m["name"]: m["richMenuId"] for m in existing}
    stale = [m["richMenuId"] for m in existing if m["name"].startswith(PREFIX) and m["name"] not in
             {name for name, _b, _i in plan.values()}]
    creating = [kind for kind, (name, _b, _i) in plan.items() if name not in by_name]
    _spend_budget(sessions, len(creating) + len(stale))
    ids: dict[str, str] = {}
    for kind, (name, body, image) in plan.items():
        ids[kind] = by_name.get(name) or await gateway.create_rich_menu(body, image)
    await gateway.set_default_rich_menu(ids["resident"])
    with sessions() as session:
        linked = list(session.scalars(select(User.line_user_id).join(Member, Member.user_id == User.id)
                                      .where(Member.active.is_(True), User.is_reachable.is_(True))))
    if linked:
        await gateway.link_rich_menu(ids["member"], linked)
    with transaction(sessions) as session:
        flag = session.get(SystemFlag, RICH_MENU_FLAG) or SystemFlag(key=RICH_MENU_FLAG)
        flag.value = ids
        session.add(flag)
    for rich_menu_id in stale:
        await gateway.delete_rich_menu(rich_menu_id)
    result = {"menus": ids, "created": creating, "deleted": len(stale), "members_linked": len(linked)}
    log.info("rich menus deployed: %s", result)
    return result
