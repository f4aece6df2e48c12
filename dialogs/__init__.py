"""The dialog-script language: load and check a brand, then run one fan's input.

Pure: no aiogram, no SQLAlchemy, no clock. The adapter (handlers/, storage/) loads a
fan, calls `handle`, writes the effects in one transaction and sends the replies.

    brand = compile_brand(files, version_label="v7")       # once per brand version
    outcome = handle(brand, fan_snapshot, Text("hi"), now)  # per fan input
"""

from dialogs.callbacks import CALLBACK_PREFIX, is_dialog_callback
from dialogs.compiler import check_brand, check_brand_dir, compile_brand, compile_brand_dir
from dialogs.context import local_time, pick_language
from dialogs.effects import (
    AddTag,
    CampaignStart,
    Effect,
    Escalate,
    GrantConsent,
    KeywordHit,
    LoopStopped,
    OptIn,
    OptOut,
    Outcome,
    RecordEvent,
    RefuseConsent,
    RemoveTag,
    RenderFailed,
    Reply,
    ReplyButton,
    SetField,
    SetLanguage,
    Skipped,
    Source,
)
from dialogs.engine import handle
from dialogs.errors import DialogsError, InvalidBrandError, Problem, RenderError
from dialogs.files import read_brand_dir
from dialogs.inputs import ButtonPress, DailyOpener, FanSnapshot, GoTo, Input, Media, Start, Text
from dialogs.model import BrandSettings, CompiledBrand
from dialogs.preview import advance
from dialogs.state import ConversationState

__all__ = [
    "CALLBACK_PREFIX",
    "AddTag",
    "BrandSettings",
    "ButtonPress",
    "CampaignStart",
    "CompiledBrand",
    "ConversationState",
    "DailyOpener",
    "DialogsError",
    "Effect",
    "Escalate",
    "FanSnapshot",
    "GoTo",
    "GrantConsent",
    "Input",
    "InvalidBrandError",
    "KeywordHit",
    "LoopStopped",
    "Media",
    "OptIn",
    "OptOut",
    "Outcome",
    "Problem",
    "RecordEvent",
    "RefuseConsent",
    "RemoveTag",
    "RenderError",
    "RenderFailed",
    "Reply",
    "ReplyButton",
    "SetField",
    "SetLanguage",
    "Skipped",
    "Source",
    "Start",
    "Text",
    "advance",
    "check_brand",
    "check_brand_dir",
    "compile_brand",
    "compile_brand_dir",
    "handle",
    "is_dialog_callback",
    "local_time",
    "pick_language",
    "read_brand_dir",
]
