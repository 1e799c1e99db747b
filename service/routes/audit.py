"""Placeholder router, filled in by its owner in this change."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
