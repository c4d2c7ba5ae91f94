"""Rich menus: images, an idempotent deploy validated by the fake LINE server, and switching on link/unlink."""

from __future__ import annotations

import io
from typing import Any

import pytest
from PIL import Image

from richmenu import deploy, images
from richmenu.menus import HEIGHT, MENUS, WIDTH, request_body
from tests.fakeline.server import FakeLine
from tests.helpers import ADMIN, Bot, Phone, link_member, new_user_id, texts, wait_for

AUTH = {"Authorization": f"Bearer {ADMIN}"}


@pytest.mark.parametrize("kind", list(MENUS))
def test_images_are_2500_by_1686_under_1_mb(kind: str) -> None:
    data = images.render(kind)
    assert len(data) < 1024 * 1024
    image = Image.open(io.BytesIO(data))
    assert image.size == (WIDTH, HEIGHT) and image.format == "PNG"
    # each tap area is painted in its button's colour (the drawn buttons are where the taps land)
    for button in MENUS[kind]:
        b = button.bounds()
        pixel = image.getpixel((b["x"] + 60, b["y"] + b["height"] // 2))
        assert "#{:02x}{:02x}{:02x}".format(*pixel[:3]) == button.color


def test_tap_areas_cover_the_image_without_overlap() -> None:
    for kind in MENUS:
        areas = [a["bounds"] for a in request_body(kind, "x")["areas"]]
        assert sum(a["width"] * a["height"] for a in areas) == WIDTH * HEIGHT


def test_a_missing_font_is_a_clear_error(monkeypatch: Any) -> None:
    monkeypatch.setattr(images, "FONT_CANDIDATES", [])
    with pytest.raises(images.FontMissing, match="fonts-noto-cjk"):
        images.render("resident")


def test_deploy_is_idempotent_and_links_members(bot: Bot, line: FakeLine, sessions: Any) -> None:
    member_phone, _ = link_member(bot, line, "港 委員", "まちづくり部会")
    runtime = bot.client.app.state.runtime
    first = bot.client.portal.call(deploy.deploy, runtime.gateway, runtime.sessions)
    assert sorted(first["created"]) == ["member", "resident"] and first["members_linked"] == 1
    assert len(line.rich_menus) == 2 and line.default_rich_menu == first["menus"]["resident"]
    assert all(info["width"] == 2500 and info["height"] == 1686 for info in line.rich_menu_images.values())
    assert line.rich_menu_links[member_phone.user_id] == first["menus"]["member"]
    second = bot.client.portal.call(deploy.deploy, runtime.gateway, runtime.sessions)
    assert second["created"] == [] and second["deleted"] == 0 and second["menus"] == first["menus"]
    assert len(line.rich_menus) == 2
    # an older menu of ours is replaced and deleted; someone else's is left alone
    line.rich_menus["richmenu-old"] = {**request_body("resident", "minato-resident-000000000000")}
    line.rich_menus["richmenu-other"] = {**request_body("resident", "another-team")}
    third = bot.client.portal.call(deploy.deploy, runtime.gateway, runtime.sessions)
    assert third["deleted"] == 1 and set(line.rich_menus) == {*first["menus"].values(), "richmenu-other"}


def test_linking_and_unlinking_a_member_switches_their_menu(bot: Bot, line: FakeLine) -> None:
    runtime = bot.client.app.state.runtime
    menus = bot.client.portal.call(deploy.deploy, runtime.gateway, runtime.sessions)["menus"]
    phone, member_id = link_member(bot, line, "港 委員", None)
    assert line.rich_menu_links.get(phone.user_id) == menus["member"]
    assert bot.client.delete(f"/api/v1/members/{member_id}/link", headers=AUTH).status_code == 204
    wait_for(lambda: phone.user_id not in line.rich_menu_links, what="the member's menu unlinked")
    # relinked to a new phone: the new account gets the members' menu, the old one is back to the default
    code = bot.client.post(f"/api/v1/members/{member_id}/link-code", headers=AUTH).json()["code"]
    new_phone = Phone(bot, line, new_user_id())
    assert "登録できました" in texts(new_phone.say(code))
    assert line.rich_menu_links.get(new_phone.user_id) == menus["member"]


def test_the_menus_buttons_are_understood(bot: Bot, line: FakeLine) -> None:
    resident = Phone(bot, line, new_user_id())
    for button in MENUS["resident"]:
        if button.action["type"] == "message":
            assert "わかりませんでした" not in texts(resident.say(button.action["text"])), button.label
    member, _ = link_member(bot, line, "港 委員", "まちづくり部会")
    for button in MENUS["member"]:
        if button.action["type"] == "message":
            assert "わかりませんでした" not in texts(member.say(button.action["text"])), button.label


def test_deploy_keeps_to_lines_hourly_limit_across_runs(bot: Bot, line: FakeLine, sessions: Any) -> None:
    import datetime as dt

    from db.base import transaction
    from db.models import SystemFlag

    now = dt.datetime.now(dt.UTC).isoformat()
    with transaction(sessions) as session:  # 99 changes were made by earlier runs in the last hour
        session.add(SystemFlag(key=deploy.CHANGES_FLAG, value={"at": [now] * 99}))
    runtime = bot.client.app.state.runtime
    with pytest.raises(RuntimeError, match="100 rich menu changes an hour"):
        bot.client.portal.call(deploy.deploy, runtime.gateway, runtime.sessions)
    assert line.rich_menus == {}  # nothing was created
