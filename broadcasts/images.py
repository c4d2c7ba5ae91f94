"""Images staff upload for a broadcast's image card: checked, fitted to LINE's limits, stripped of their metadata,
kept in the database and served by the app at {PUBLIC_BASE_URL}/media/<token>.jpg (or .png).

An upload is read with Pillow, never trusted by its name or type: only a real JPEG or PNG is taken. It is turned
upright (the EXIF orientation a phone writes) and saved anew without any metadata: no EXIF, so no GPS position, no
camera, no time taken, no comment. Kept in the database rather than on a disk, so that every app process (several
on PostgreSQL) serves it and a backup holds it. The same image uploaded again is the same row, and the same URL.

LINE fetches the image itself, from its URL, and shows only https: in development (PUBLIC_BASE_URL http://...)
the simulator and the console show it, LINE would not, and `dev_warning` says so. In production an upload is
refused until PUBLIC_BASE_URL is https.
"""

from __future__ import annotations

import hashlib
import io
import secrets
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.inputs import Refused
from bot.work import Work
from db.models import UploadedImage

# What LINE takes for the image of a flex message (the hero of our image card), as messaging-api.yml's FlexImage
# says: "Protocol: HTTPS (TLS 1.2 or later); Image format: JPEG or PNG; Maximum image size: 1024×1024 pixels;
# Maximum file size: 10 MB; URL max character limit: 2000".
LINE_FORMATS = {"JPEG": ("image/jpeg", "jpg"), "PNG": ("image/png", "png")}
LINE_MAX_SIDE = 1024
LINE_MAX_BYTES = 10 * 1024 * 1024
LINE_MAX_URL = 2000
# What we take: at most 10 MB as uploaded (a phone's photo is 2-6 MB), at most 50 million pixels (a larger one
# would need hundreds of MB to decode: a "decompression bomb", a small file that unpacks huge).
UPLOAD_MAX_BYTES = 10 * 1024 * 1024
MAX_PIXELS = 50_000_000
JPEG_QUALITY = 85  # at 1024 px: 100-300 KB, quick to load on a phone
CACHE_SECONDS = 365 * 24 * 3600  # a URL's image never changes (a new image is a new token)
MEDIA_PATH = "/media/"
SIZE_HINT = f"JPEG（.jpg）か PNG（.png）、{UPLOAD_MAX_BYTES // (1024 * 1024)}MBまで"


class ImageRefused(Refused):
    """An upload that is not a usable image; the message says why in staff's words, and names the field."""


@dataclass
class Prepared:
    """An image ready for LINE: its bytes (no metadata), type, file extension and size in pixels."""

    data: bytes
    content_type: str
    extension: str
    width: int
    height: int


def _mb(size: int) -> str:
    return f"{size / (1024 * 1024):.1f}MB"


def prepare(data: bytes, *, field: str = "file") -> Prepared:
    """Check an upload and make it what LINE takes: a JPEG or PNG, upright, at most 1024 px on its longer side,
    with no metadata. ImageRefused (in Japanese, for the field) otherwise."""
    if not data:
        raise ImageRefused("ファイルが空です。画像を選びなおしてください", field, "the file is empty")
    if len(data) > UPLOAD_MAX_BYTES:
        raise ImageRefused(f"ファイルが大きすぎます（{_mb(len(data))}）。{UPLOAD_MAX_BYTES // (1024 * 1024)}MBまでの"
                           "画像にしてください", field, f"the file is larger than {UPLOAD_MAX_BYTES} bytes")
    not_an_image = ImageRefused("画像として読めません。JPEG（.jpg）か PNG（.png）の画像を選んでください", field,
                                "not a JPEG or PNG image")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            kind = image.format or ""
            if kind not in LINE_FORMATS:
                if kind:
                    raise ImageRefused(f"{kind} の画像は使えません。JPEG（.jpg）か PNG（.png）にしてください", field,
                                       f"{kind} images are not taken: JPEG or PNG")
                raise not_an_image
            width, height = image.size
            if width * height > MAX_PIXELS:
                raise ImageRefused(f"画像が大きすぎます（{width}×{height}画素）。{MAX_PIXELS // 10_000:,}万画素"
                                   "までにしてください", field, f"more than {MAX_PIXELS} pixels")
            if kind == "JPEG":  # decode at a fraction of the size where that is enough: quicker, less memory
                image.draft("RGB", (LINE_MAX_SIDE, LINE_MAX_SIDE))
            image.load()
            upright = ImageOps.exif_transpose(image)
    except ImageRefused:
        raise
    except UnidentifiedImageError:
        raise not_an_image from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageRefused(f"画像が大きすぎます。{MAX_PIXELS // 10_000:,}万画素までにしてください", field,
                           f"more than {MAX_PIXELS} pixels") from None
    except (OSError, SyntaxError, ValueError):
        raise ImageRefused("画像が壊れているようです（最後まで読めません）。保存しなおした画像を選んでください",
                           field, "the image is damaged or cut short") from None
    content_type, extension = LINE_FORMATS[kind]
    fitted = _fit(_srgb(upright), png=kind == "PNG")
    fitted.info = {}  # nothing of the original's metadata is written (EXIF, GPS, comments, ICC, XMP)
    out = io.BytesIO()
    if kind == "JPEG":
        fitted.save(out, "JPEG", quality=JPEG_QUALITY, optimize=True, progressive=True)
    else:
        fitted.save(out, "PNG", optimize=True)
    result = out.getvalue()
    if len(result) > LINE_MAX_BYTES:  # cannot happen at 1024 px (an RGBA PNG is at most 4 MB), but LINE says so
        raise ImageRefused("画像を小さくできませんでした。別の画像にしてください", field, "too large for LINE")
    return Prepared(result, content_type, extension, fitted.width, fitted.height)


def _srgb(image: Image.Image) -> Image.Image:
    """Colours as the phone showed them: an image with its own colour profile (a camera's Display P3, Adobe RGB)
    converted to sRGB, as the profile is not kept. Without one, or if it cannot be read, the pixels as they are."""
    profile = image.info.get("icc_profile")
    if not profile or image.mode not in ("RGB", "RGBA", "CMYK"):
        return image
    try:
        from PIL import ImageCms

        source = ImageCms.ImageCmsProfile(io.BytesIO(profile))
        mode = "RGBA" if image.mode == "RGBA" else "RGB"
        converted = ImageCms.profileToProfile(image, source, ImageCms.createProfile("sRGB"), outputMode=mode)
        return converted if converted is not None else image
    except Exception:  # an unreadable profile, or Pillow built without littleCMS: keep the pixels
        return image


def _fit(image: Image.Image, *, png: bool) -> Image.Image:
    """A mode the format stores (transparency kept in a PNG), at most LINE_MAX_SIDE on its longer side."""
    if png:
        if image.mode in ("I", "I;16", "I;16B", "I;16L", "F"):  # 16-bit greyscale: to 8 bits
            image = image.convert("I").point(lambda v: v / 256).convert("L")
        elif image.mode == "P" or image.mode == "1":
            image = image.convert("RGBA" if "transparency" in image.info else "RGB")
        elif image.mode not in ("L", "LA", "RGB", "RGBA"):
            image = image.convert("RGBA")
    elif image.mode not in ("L", "RGB"):
        image = image.convert("RGB")  # CMYK, YCbCr... (a JPEG has no transparency)
    if max(image.size) > LINE_MAX_SIDE:
        image.thumbnail((LINE_MAX_SIDE, LINE_MAX_SIDE), Image.Resampling.LANCZOS)
    return image


def store(work: Work, data: bytes, *, field: str = "file") -> UploadedImage:
    """Check and prepare an upload (prepare), keep it, and write the audit line; the same image again is the same
    row (and URL). Refused in production while PUBLIC_BASE_URL is not https: LINE would not show it."""
    base = work.settings.public_base_url
    if work.settings.is_production and not base.startswith("https://"):
        raise ImageRefused("PUBLIC_BASE_URL が https:// ではないため、LINEに画像を表示できません。"
                           "管理者に設定を確認してもらってください", field, "PUBLIC_BASE_URL is not https")
    prepared = prepare(data, field=field)
    digest = hashlib.sha256(prepared.data).hexdigest()
    session = work.session
    same = session.scalars(select(UploadedImage).where(UploadedImage.sha256 == digest).limit(1)).first()
    if same is not None:
        return same
    image = UploadedImage(token=secrets.token_urlsafe(16), content_type=prepared.content_type, data=prepared.data,
                          width=prepared.width, height=prepared.height, size=len(prepared.data), sha256=digest,
                          uploaded_by=work.actor[:100])
    session.add(image)
    session.flush()
    work.audit("broadcast.image", f"image:{image.id}",
               f"{url_of(base, image)}（{image.width}×{image.height}、{round(image.size / 1024)}KB）")
    return image


def extension_of(image: UploadedImage) -> str:
    return "png" if image.content_type == "image/png" else "jpg"


def url_of(base_url: str, image: UploadedImage) -> str:
    """The image's public URL: what the broadcast's card gives LINE (LINE fetches it from there)."""
    return f"{base_url.rstrip('/')}{MEDIA_PATH}{image.token}.{extension_of(image)}"


def find(session: Session, name: str) -> UploadedImage | None:
    """The image a /media/ file name ("<token>.jpg") names; None for anything else (a wrong extension too)."""
    token, dot, extension = name.rpartition(".")
    if not dot or not token or len(token) > 64:
        return None
    image = session.scalars(select(UploadedImage).where(UploadedImage.token == token)).one_or_none()
    return image if image is not None and extension_of(image) == extension else None


def is_own(url: str, base_url: str) -> bool:
    """The URL is one of the images this app serves (an upload)."""
    return url.startswith(base_url.rstrip("/") + MEDIA_PATH)


def needs_https(url: str, base_url: str) -> bool:
    """An uploaded image LINE will not show: the app's URL is http (development)."""
    return is_own(url, base_url) and not url.startswith("https://")


DEV_WARNING = ("開発環境のため、画像のURLが http です。シミュレーターと管理画面では表示されますが、LINEには "
               "PUBLIC_BASE_URL を https:// にするまで表示されません")
DEV_WARNING_EN = "PUBLIC_BASE_URL is http: LINE shows only https images (the simulator shows this one)"
