"""Reads the brand folder for what the bot needs at start-up."""

from pathlib import Path
from typing import Any

import yaml

from storage.repositories.origins import CampaignSpec


def load_campaigns(brand_dir: Path) -> list[CampaignSpec]:
    """The campaigns of the brand's campaigns.yaml (none if the file is missing)."""
    path = brand_dir / "campaigns.yaml"
    if not path.exists():
        return []
    document: Any = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    entries = document.get("campaigns", document) if isinstance(document, dict) else document
    if isinstance(entries, dict):
        entries = [{"code": code, **(body or {})} for code, body in entries.items()]
    return [_campaign(entry) for entry in entries]


def _campaign(entry: dict[str, Any]) -> CampaignSpec:
    gift = entry.get("gift")
    if isinstance(gift, dict):
        gift = gift.get("code") or gift.get("name")
    name = entry.get("name", entry["code"])
    if isinstance(name, dict):
        name = next(iter(name.values()))
    return CampaignSpec(
        code=str(entry["code"]),
        name=str(name),
        tags=tuple(str(tag) for tag in entry.get("tags", [])),
        gift=str(gift) if gift else None,
    )
