"""The automation API (bearer ADMIN_API_TOKEN): one more client of the same domain services as the LINE handlers."""

from fastapi import APIRouter, Depends

from api import broadcasts, events, media, members, opinions, surveys
from api.deps import reject_nul, require_token

router = APIRouter(prefix="/api/v1", dependencies=[Depends(require_token), Depends(reject_nul)], responses={
    400: {"description": "the body is not valid JSON"},
    401: {"description": "missing or wrong bearer token (ADMIN_API_TOKEN)"},
    404: {"description": "no such resource (the id in the path)"}})
router.include_router(members.router)
router.include_router(surveys.router)
router.include_router(events.router)
router.include_router(opinions.router)
router.include_router(broadcasts.router)
# Images (POST /api/v1/media and the public files at /media/<token>.jpg) beside the rest: an upload's bytes hold
# NULs, which reject_nul refuses in text; the upload still needs the token, the files need none (LINE fetches them).
files = APIRouter()
files.include_router(media.router, prefix="/api/v1", dependencies=[Depends(require_token)], responses={
    401: {"description": "missing or wrong bearer token (ADMIN_API_TOKEN)"}})
files.include_router(media.public)
