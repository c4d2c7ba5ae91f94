"""Images for broadcasts: upload one (POST /api/v1/media, the console's checks: a real JPEG or PNG of at most
10 MB, made upright, fitted to LINE's 1024 px and stripped of its metadata) and use the URL it answers as an image
message's image_url; and the images themselves, public (GET /media/<token>.jpg|.png: LINE fetches them)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, HTTPException, Request, Response, UploadFile, status
from pydantic import BaseModel, Field

from api.deps import API_ACTOR, RuntimeDep, invalid
from broadcasts import images
from broadcasts.images import ImageRefused

router = APIRouter(prefix="/media", tags=["media"])
public = APIRouter()


class MediaOut(BaseModel):
    url: str = Field(description="the image's public URL: give it as image_url of an image message")
    content_type: str = Field(description="image/jpeg or image/png")
    width: int
    height: int
    size: int = Field(description="bytes, as stored and served")
    warning: str | None = Field(None, description="set when LINE will not show it (PUBLIC_BASE_URL is not https)")


@router.post("", status_code=status.HTTP_201_CREATED, response_model=MediaOut,
             responses={422: {"description": "not a JPEG or PNG, larger than 10 MB, damaged, or too many pixels"}})
def upload_media(runtime: RuntimeDep, file: Annotated[UploadFile, File(
        description=f"a JPEG or PNG of at most {images.UPLOAD_MAX_BYTES} bytes")]) -> MediaOut:
    """Check and keep an image; the same image uploaded again answers the same URL."""
    data = file.file.read(images.UPLOAD_MAX_BYTES + 1)  # one byte more tells "too large" without reading it all
    try:
        with runtime.work(API_ACTOR) as work:
            image = images.store(work, data)
            url = images.url_of(work.base_url, image)
            return MediaOut(url=url, content_type=image.content_type, width=image.width, height=image.height,
                            size=image.size,
                            warning=images.DEV_WARNING_EN if images.needs_https(url, work.base_url) else None)
    except ImageRefused as exc:
        raise invalid(exc) from None


@public.api_route("/media/{name}", methods=["GET", "HEAD"], include_in_schema=False)
def media_file(name: str, request: Request, runtime: RuntimeDep) -> Response:
    """An uploaded image, with its type; cached for a year (a URL's image never changes)."""
    with runtime.sessions() as session:
        image = images.find(session, name[:100])
        if image is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, "image not found")
        data, content_type, etag = image.data, image.content_type, f'"{image.sha256}"'
    headers = {"cache-control": f"public, max-age={images.CACHE_SECONDS}, immutable", "etag": etag,
               "content-security-policy": "default-src 'none'"}
    if etag in request.headers.get("if-none-match", ""):
        return Response(status_code=status.HTTP_304_NOT_MODIFIED, headers=headers)
    return Response(data, media_type=content_type, headers=headers)
