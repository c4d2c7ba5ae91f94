"""The automation API (bearer ADMIN_API_TOKEN): one more client of the same domain services as the LINE handlers."""

from fastapi import APIRouter, Depends

from api import broadcasts, events, members, opinions, surveys
from api.deps import require_token

router = APIRouter(prefix="/api/v1", dependencies=[Depends(require_token)])
router.include_router(members.router)
router.include_router(surveys.router)
router.include_router(events.router)
router.include_router(opinions.router)
router.include_router(broadcasts.router)
