"""Play an outcome back onto a fan snapshot, without a database.

The adapter stores effects in the database and loads a fresh snapshot next time.
The admin console's preview, dry runs and tests have no database, so `advance`
does the same in memory: the snapshot the adapter would load after storing
`outcome`.
"""

from __future__ import annotations

import dataclasses

from dialogs.effects import (
    AddTag,
    CampaignStart,
    GrantConsent,
    Outcome,
    RefuseConsent,
    RemoveTag,
    SetField,
    SetLanguage,
)
from dialogs.inputs import FanSnapshot

__all__ = ["advance"]


def advance(fan: FanSnapshot, outcome: Outcome) -> FanSnapshot:
    """`fan` after the effects of `outcome` were stored."""
    fields = dict(fan.fields)
    tags, consents = set(fan.tags), set(fan.consents)
    language, first, latest = fan.language, fan.first_origin, fan.latest_origin
    for effect in outcome.effects:
        if isinstance(effect, SetField):
            fields[effect.name] = effect.value
        elif isinstance(effect, AddTag):
            tags.add(effect.tag)
        elif isinstance(effect, RemoveTag):
            tags.discard(effect.tag)
        elif isinstance(effect, GrantConsent):
            consents.add(effect.purpose)
        elif isinstance(effect, RefuseConsent):
            consents.discard(effect.purpose)
        elif isinstance(effect, SetLanguage):
            language = effect.language
        elif isinstance(effect, CampaignStart):
            first, latest = first or effect.code, effect.code
    return dataclasses.replace(
        fan,
        fields=fields,
        tags=frozenset(tags),
        consents=frozenset(consents),
        language=language,
        first_origin=first,
        latest_origin=latest,
        is_new=False,
        conversation=outcome.state,
    )
