"""Typed keys for the hub application's state (no string-keyed globals)."""

from aiohttp import web

from hub.backups.blobs import BlobStore
from hub.config import HubConfig
from hub.enrollment.service import Enrollment
from hub.link import HubLink
from hub.store import HubStore

CONFIG = web.AppKey("config", HubConfig)
STORE = web.AppKey("store", HubStore)
LINK = web.AppKey("link", HubLink)
ENROLLMENT = web.AppKey("enrollment", Enrollment)
BACKUPS = web.AppKey("backups", BlobStore)  # agents' sealed backups (hub/backups/)
