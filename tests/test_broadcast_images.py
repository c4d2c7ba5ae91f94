"""Images for broadcasts are uploaded in the console or the API (issue #15, point 12): only a real JPEG or PNG of
at most 10 MB is taken (read with Pillow, never trusted by its name), made upright by its EXIF orientation,
fitted to LINE's 1024 px (messaging-api.yml, FlexImage), saved anew without any metadata (no EXIF: no GPS, no
camera), kept in the database and served by the app at {PUBLIC_BASE_URL}/media/<token>.jpg with its type and a
year's cache. A refused file is said in Japanese next to its field, and the rest of the form is kept (an upload
that worked too, as its URL). In development (PUBLIC_BASE_URL http) the console says LINE will not show it.

Pillow makes the test images: a phone-like JPEG (EXIF orientation 6, a GPS position, a camera make), a 5000×3000
PNG with transparency, and text named photo.jpg. Screenshots in test-artifacts/screenshots/."""

from __future__ import annotations

import io
import re
from typing import Any

import pytest
from PIL import ExifTags, Image
from sqlalchemy import func, select

from broadcasts import images
from db.models import AuditEntry, Broadcast, UploadedImage
from tests.helpers import (
    AUTH,
    Bot,
    Phone,
    browser_page,
    logged_in,
    make_settings,
    make_staff,
    new_user_id,
    screenshot,
    served,
    wait_for,
    work,
)
from tests.helpers import PASSWORD as STAFF_PASSWORD

BASE = "http://127.0.0.1:8000"  # the tests' PUBLIC_BASE_URL (the default)
MEDIA = re.compile(r"http://127\.0\.0\.1:8000/media/([A-Za-z0-9_-]{20,})\.(jpg|png)")
NOT_AN_IMAGE = "画像として読めません。JPEG（.jpg）か PNG（.png）の画像を選んでください"


def phone_photo(width: int = 600, height: int = 400) -> bytes:
    """A JPEG as a phone saves it: pixels stored sideways with EXIF orientation 6 (turn 90° clockwise to show),
    the position it was taken at, the camera. A red square in the stored top-left corner shows up top-right."""
    image = Image.new("RGB", (width, height), "white")
    image.paste((255, 0, 0), (0, 0, 100, 100))
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6
    exif[ExifTags.Base.Make] = "MinatoPhone"
    exif[ExifTags.Base.DateTime] = "2026:12:02 10:00:00"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef], gps[ExifTags.GPS.GPSLatitude] = "N", (34.0, 39.0, 48.0)
    gps[ExifTags.GPS.GPSLongitudeRef], gps[ExifTags.GPS.GPSLongitude] = "E", (135.0, 27.0, 36.0)
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif, quality=95, comment=b"taken at home")
    raw = out.getvalue()
    assert Image.open(io.BytesIO(raw)).getexif().get_ifd(ExifTags.IFD.GPSInfo)  # the test's photo has them
    return raw


def big_png() -> bytes:
    """A 5000×3000 poster with a transparent band: larger than LINE takes."""
    image = Image.new("RGBA", (5000, 3000), (10, 120, 200, 255))
    image.paste((0, 0, 0, 0), (0, 0, 5000, 300))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def check_upright_and_clean(raw: bytes) -> None:
    """The photo served: upright (portrait, the red square top-right), a JPEG, and no metadata at all."""
    served_image = Image.open(io.BytesIO(raw))
    assert served_image.format == "JPEG" and served_image.size == (400, 600)
    assert served_image.getpixel((380, 20))[0] > 200 and served_image.getpixel((380, 20))[1] < 60  # red
    assert served_image.getpixel((20, 20)) == (255, 255, 255)
    assert dict(served_image.getexif()) == {} and "exif" not in served_image.info
    assert "comment" not in served_image.info and "icc_profile" not in served_image.info
    for trace in (b"Exif", b"MinatoPhone", b"2026:12:02", b"taken at home", b"GPS"):
        assert trace not in raw


# --------------------------------------------------------------------------- the checks themselves


def test_a_phone_photo_is_made_upright_and_loses_its_position_and_camera() -> None:
    prepared = images.prepare(phone_photo())
    assert (prepared.content_type, prepared.extension) == ("image/jpeg", "jpg")
    check_upright_and_clean(prepared.data)


def test_a_large_png_is_fitted_to_lines_1024_pixels_and_keeps_its_transparency() -> None:
    prepared = images.prepare(big_png())
    fitted = Image.open(io.BytesIO(prepared.data))
    assert (prepared.content_type, fitted.format, fitted.size) == ("image/png", "PNG", (1024, 614))
    assert fitted.mode == "RGBA" and fitted.getpixel((500, 10))[3] == 0 and fitted.getpixel((500, 400))[3] == 255
    assert len(prepared.data) < images.LINE_MAX_BYTES
    portrait = Image.new("RGB", (1500, 3000), "white")
    out = io.BytesIO()
    portrait.save(out, "JPEG")
    assert Image.open(io.BytesIO(images.prepare(out.getvalue()).data)).size == (512, 1024)


@pytest.mark.parametrize(("data", "message"), [
    pytest.param(b"This is a text file, named photo.jpg.\n", NOT_AN_IMAGE, id="text"),
    pytest.param(b"", "ファイルが空です。画像を選びなおしてください", id="empty"),
    pytest.param(b"\xff\xd8\xff" + b"\0" * (10 * 1024 * 1024),
                 "ファイルが大きすぎます（10.0MB）。10MBまでの画像にしてください", id="over-10MB"),
])
def test_what_is_not_a_usable_image_is_refused_in_japanese(data: bytes, message: str) -> None:
    with pytest.raises(images.ImageRefused) as refused:
        images.prepare(data, field="upload0")
    assert str(refused.value) == message and refused.value.errors[0]["loc"] == ["upload0"]


def test_other_formats_damaged_files_and_pixel_bombs_are_refused() -> None:
    def saved(image: Image.Image, kind: str) -> bytes:
        out = io.BytesIO()
        image.save(out, kind)
        return out.getvalue()

    with pytest.raises(images.ImageRefused, match="GIF の画像は使えません"):
        images.prepare(saved(Image.new("RGB", (10, 10)), "GIF"))
    with pytest.raises(images.ImageRefused, match="画像が壊れているようです"):
        photo = phone_photo()
        images.prepare(photo[: len(photo) // 2])
    bomb = saved(Image.new("1", (8000, 8000)), "PNG")  # 64 million pixels in a few kilobytes
    assert len(bomb) < 100_000
    with pytest.raises(images.ImageRefused, match="画像が大きすぎます（8000×8000画素）。5,000万画素までにしてください"):
        images.prepare(bomb)


# --------------------------------------------------------------------------- the console


def compose(client: Any, csrf: str, files: dict[str, tuple[str, bytes, str]], **form: Any) -> Any:
    data = {"csrf": csrf, "title": "区民まつりのポスター", "audience": "residents", "type0": "image",
            "link0": "https://www.city.osaka.lg.jp/minato/", "caption0": "区民まつり 10月17日", **form}
    return client.post("/console/broadcasts/new", data=data, files=files, follow_redirects=False)


def test_an_uploaded_photo_is_served_by_the_app_and_used_by_the_broadcast(app_factory: Any, sessions: Any,
                                                                          line: Any) -> None:
    client = app_factory(quiet_hours_start=0, quiet_hours_end=0)
    csrf = logged_in(client, sessions)
    form = client.get("/console/broadcasts/new").text
    assert 'enctype="multipart/form-data"' in form and 'type="file" name="upload0"' in form
    assert "JPEG（.jpg）か PNG（.png）、10MBまで" in form
    created = compose(client, csrf, {"upload0": ("IMG_0001.JPG", phone_photo(), "image/jpeg")})
    assert created.status_code == 303, created.text
    with sessions() as session:
        broadcast = session.scalars(select(Broadcast)).one()
        stored = session.scalars(select(UploadedImage)).one()
    url = broadcast.items[0]["image_url"]
    assert MEDIA.fullmatch(url) and url == f"{BASE}/media/{stored.token}.jpg"
    hero = broadcast.messages[0]["contents"]["hero"]
    assert hero["url"] == url  # the card LINE gets points there
    assert hero["aspectRatio"] == "400:600"  # shown whole (an https URL of elsewhere is cut to 20:13)
    assert (stored.width, stored.height, stored.uploaded_by) == (400, 600, "港 花子")

    served_file = client.get(url.removeprefix(BASE))
    assert served_file.status_code == 200 and served_file.headers["content-type"] == "image/jpeg"
    assert served_file.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert served_file.headers["x-content-type-options"] == "nosniff"
    check_upright_and_clean(served_file.content)
    again = client.get(url.removeprefix(BASE), headers={"if-none-match": served_file.headers["etag"]})
    assert again.status_code == 304 and again.content == b""
    assert client.get(f"/media/{stored.token}.png").status_code == 404  # its own extension only
    assert client.get("/media/nothing-here.jpg").status_code == 404

    page = client.get(created.headers["location"]).text  # the preview shows it, and says LINE will not yet
    assert f'src="{url}"' in page and images.DEV_WARNING in page
    with sessions() as session:
        audit = session.scalars(select(AuditEntry.detail).where(AuditEntry.action == "broadcast.image")).one()
    assert audit == f"{url}（400×600、{round(stored.size / 1024)}KB）"

    # the same photo again: the same row and URL; another app process serves it too (it is in the database)
    assert compose(client, csrf, {"upload0": ("copy.jpg", phone_photo(), "image/jpeg")}).status_code == 303
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(UploadedImage)) == 1
    other = app_factory(process_role="web")
    assert other.get(url.removeprefix(BASE)).content == served_file.content

    resident = new_user_id()  # sent: the card reaches LINE with the image's URL (the fake LINE checks the body)
    Phone(Bot(client, sessions), line, resident).follow()
    confirm = client.post(created.headers["location"] + "/confirm",
                          data={"csrf": csrf, "confirmed_count": "1", "when": "now"}, follow_redirects=False)
    assert confirm.status_code == 303
    wait_for(lambda: line.messages_to(resident), 15, "the broadcast")
    assert line.messages_to(resident)[0]["contents"]["hero"]["url"] == url


def test_a_refused_file_is_said_next_to_its_field_and_the_form_is_kept(app_factory: Any, sessions: Any,
                                                                        line: Any) -> None:
    client = app_factory()
    csrf = logged_in(client, sessions)
    refused = compose(client, csrf, {"upload0": ("ポスター.png", big_png(), "image/png"),
                                     "upload1": ("photo.jpg", b"not a photo at all\n", "image/jpeg")},
                      type1="image", caption1="会場の地図", link1="https://example.jp/map",
                      type2="text", text2="ぜひお越しください。", urgent="on")
    assert refused.status_code == 422
    page = refused.text
    assert (f'<span class="field-error" role="alert" id="upload-error1">{NOT_AN_IMAGE}（選んだファイル: photo.jpg）'
            '</span>') in page
    assert f"メッセージ 2: {NOT_AN_IMAGE}（選んだファイル: photo.jpg）" in page  # and at the top, with its slot
    assert "メッセージを1つ以上" not in page
    kept = re.search(r'name="image0" maxlength="1000" value="([^"]+)"', page)
    assert kept and MEDIA.fullmatch(kept.group(1)) and kept.group(1).endswith(".png")  # the upload that worked
    assert f'src="{kept.group(1)}"' in page and images.DEV_WARNING in page
    for typed in ('value="区民まつりのポスター"', 'value="会場の地図"', 'value="https://example.jp/map"',
                  ">ぜひお越しください。</textarea>", 'value="区民まつり 10月17日"'):
        assert typed in page, typed
    assert re.search(r'name="urgent" checked', page) and re.search(r'value="residents" checked', page)
    assert re.search(r'<option value="image" selected>画像とリンク</option>', page)
    with sessions() as session:
        assert session.scalars(select(Broadcast)).all() == []
        [poster] = session.scalars(select(UploadedImage)).all()
        assert (poster.width, poster.height, poster.content_type) == (1024, 614, "image/png")
    # sent again as shown (the kept URL, the second slot left out): saved
    again = client.post("/console/broadcasts/new", data={
        "csrf": csrf, "title": "区民まつりのポスター", "audience": "residents", "type0": "image",
        "image0": kept.group(1), "type1": "text", "text1": "ぜひお越しください。"}, follow_redirects=False)
    assert again.status_code == 303
    # an address of ours that is no upload is refused, not sent
    missing = client.post("/console/broadcasts/new", data={
        "csrf": csrf, "title": "x", "audience": "residents", "type0": "image",
        "image0": f"{BASE}/media/AAAAAAAAAAAAAAAAAAAAAA.jpg"})
    assert missing.status_code == 422
    assert "1つ目の画像が見つかりません。画像をアップロードしなおしてください" in missing.text


def test_in_production_an_upload_waits_for_an_https_public_base_url(sessions: Any) -> None:
    production = {"app_env": "production", "line_channel_secret": "s" * 32, "line_channel_access_token": "t" * 32,
                  "admin_api_token": "a" * 32}
    with pytest.raises(images.ImageRefused, match="PUBLIC_BASE_URL が https:// ではないため"), \
            work(sessions, public_base_url="http://minato.example.jp", **production) as unit:
        images.store(unit, phone_photo())
    with work(sessions, public_base_url="https://minato.example.jp", **production) as unit:
        image = images.store(unit, phone_photo())
        url = images.url_of(unit.base_url, image)
    assert url.startswith("https://minato.example.jp/media/") and not images.needs_https(url, unit.base_url)


# --------------------------------------------------------------------------- the API


def test_the_api_uploads_with_the_same_checks_and_its_url_makes_an_image_message(app_factory: Any, sessions: Any,
                                                                                 line: Any) -> None:
    client = app_factory()
    assert client.post("/api/v1/media", files={"file": ("a.jpg", phone_photo(), "image/jpeg")}).status_code == 401
    uploaded = client.post("/api/v1/media", headers=AUTH, files={"file": ("a.jpg", phone_photo(), "image/jpeg")})
    assert uploaded.status_code == 201, uploaded.text
    body = uploaded.json()
    assert MEDIA.fullmatch(body["url"]) and (body["width"], body["height"], body["content_type"]) == (
        400, 600, "image/jpeg")
    assert body["warning"] == images.DEV_WARNING_EN
    check_upright_and_clean(client.get(body["url"].removeprefix(BASE)).content)

    refused = client.post("/api/v1/media", headers=AUTH, files={"file": ("photo.jpg", b"plain text", "image/jpeg")})
    assert refused.status_code == 422
    assert refused.json()["detail"] == [{"loc": ["body", "file"], "msg": "not a JPEG or PNG image",
                                         "type": "value_error"}]
    missing = client.post("/api/v1/media", headers=AUTH, data={"x": "1"})
    assert missing.status_code == 422

    def broadcast(url: str) -> Any:
        return client.post("/api/v1/broadcasts", headers=AUTH, json={
            "title": "ポスター", "audience": {"kind": "residents"}, "dry_run": True,
            "messages": [{"type": "image", "image_url": url}]})

    assert broadcast(body["url"]).status_code == 200  # ours, though http in development
    assert broadcast("http://example.com/a.png").status_code == 422  # anyone else's must be https
    assert broadcast(f"{BASE}/media/AAAAAAAAAAAAAAAAAAAAAA.jpg").status_code == 422  # no such upload
    with sessions() as session:
        assert [a for a in session.scalars(select(AuditEntry.actor).where(AuditEntry.action == "broadcast.image"))
                ] == ["api"]


# --------------------------------------------------------------------------- in the browser


@pytest.mark.parametrize("size", [pytest.param({"width": 390, "height": 844}, id="phone"),
                                  pytest.param({"width": 1280, "height": 900}, id="desktop")])
def test_browser_a_clerk_uploads_a_photo_a_wrong_file_is_refused_and_nothing_typed_is_lost(
        database_url: str, sessions: Any, line: Any, size: dict[str, int]) -> None:
    make_staff(sessions)
    settings = make_settings(database_url, line)
    width = size["width"]
    with served(settings) as base, browser_page() as page:
        settings.public_base_url = base  # the app's own address, as PUBLIC_BASE_URL is in use
        page.set_viewport_size(size)
        page.goto(base + "/console/login")
        page.fill("input[name=name]", "港 花子")
        page.fill("input[name=password]", STAFF_PASSWORD)
        page.click("button:has-text('ログイン')")
        page.wait_for_selector("h1:has-text('ダッシュボード')")
        page.goto(base + "/console/broadcasts/new")
        page.fill("input[name=title]", "区民まつりのポスター")
        page.check("input[name=audience][value=residents]")
        page.select_option("select[name=type0]", "image")
        assert page.is_visible("input[name=upload0]") and not page.is_visible("textarea[name=text0]")
        page.set_input_files("input[name=upload0]", files=[{"name": "IMG_0001.JPG", "mimeType": "image/jpeg",
                                                            "buffer": phone_photo()}])
        page.fill("input[name=caption0]", "区民まつり 10月17日")
        page.select_option("select[name=type1]", "image")
        page.set_input_files("input[name=upload1]", files=[{"name": "photo.jpg", "mimeType": "image/jpeg",
                                                            "buffer": b"this is not a photo\n"}])
        page.select_option("select[name=type2]", "text")
        page.fill("textarea[name=text2]", "ぜひお越しください。")
        page.click("button:has-text('プレビューへ')")
        page.wait_for_selector(f"#upload-error1:has-text('{NOT_AN_IMAGE}')")
        assert page.input_value("input[name=title]") == "区民まつりのポスター"
        assert page.input_value("input[name=caption0]") == "区民まつり 10月17日"
        assert page.input_value("textarea[name=text2]") == "ぜひお越しください。"
        assert page.input_value("input[name=image0]").startswith(base + "/media/")
        assert page.eval_on_selector("#preview0", "img => img.complete && img.naturalWidth") == 400
        assert page.is_visible("#image-warning0")
        screenshot(page, f"broadcast-image-refused-{width}")
        page.select_option("select[name=type1]", "")  # the wrong file's slot left out
        page.click("button:has-text('プレビューへ')")
        page.wait_for_selector("#recipient-count")
        hero = page.locator(".phone img.fimage").first
        hero.wait_for()
        assert page.eval_on_selector(".phone img.fimage", "img => img.complete && img.naturalHeight") == 600
        assert page.is_visible("#image-warning")
        screenshot(page, f"broadcast-image-preview-{width}")
        with sessions() as session:
            assert session.scalars(select(Broadcast)).one().items[0]["image_url"].startswith(base + "/media/")
