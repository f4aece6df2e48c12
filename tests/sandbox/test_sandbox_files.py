"""Uploads, getFile and file download through aiogram."""

from __future__ import annotations

import io

import pytest
from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest
from aiogram.types import BufferedInputFile

from sandbox.client import SandboxClient
from sandbox.simulate import placeholder_png


async def test_upload_get_file_and_download(bot: Bot, sb: SandboxClient, fan: int) -> None:
    png = placeholder_png(40, 30)
    sent = await bot.send_photo(
        fan, BufferedInputFile(png, "pic.png"), caption="<b>hi</b>", parse_mode="HTML"
    )
    assert sent.photo is not None
    assert sent.caption == "hi"
    largest = sent.photo[-1]
    assert (largest.width, largest.height) == (40, 30)

    file = await bot.get_file(largest.file_id)
    assert file.file_path is not None
    assert file.file_size == len(png)
    downloaded = await bot.download_file(file.file_path)
    assert isinstance(downloaded, io.BytesIO)
    assert downloaded.getvalue() == png


async def test_document_keeps_name_and_bytes(bot: Bot, fan: int) -> None:
    data = b"hello,world\n"
    sent = await bot.send_document(fan, BufferedInputFile(data, "report.csv"))
    assert sent.document is not None
    assert sent.document.file_name == "report.csv"
    assert sent.document.file_size == len(data)
    out = await bot.download(sent.document.file_id)
    assert out is not None
    assert out.read() == data


async def test_fan_media_can_be_downloaded(bot: Bot, sb: SandboxClient, fan: int) -> None:
    voice = await sb.send_voice(fan, duration=7)
    assert voice.message is not None
    assert voice.message["voice"]["duration"] == 7
    out = await bot.download(voice.message["voice"]["file_id"])
    assert out is not None
    assert out.read()


async def test_unknown_file_id(bot: Bot) -> None:
    with pytest.raises(TelegramBadRequest, match="wrong file_id"):
        await bot.get_file("nope")


async def test_missing_file_part(bot: Bot, fan: int) -> None:
    with pytest.raises(TelegramBadRequest, match="there is no photo in the request"):
        await bot.send_photo(fan, "")


async def test_album_of_uploads_and_animation(bot: Bot, fan: int) -> None:
    from aiogram.types import InputMediaPhoto

    png = placeholder_png(8, 8)
    album = await bot.send_media_group(
        fan,
        [
            InputMediaPhoto(media=BufferedInputFile(png, "a.png"), caption="first"),
            InputMediaPhoto(media=BufferedInputFile(png, "b.png")),
        ],
    )
    assert [m.caption for m in album] == ["first", None]
    assert album[0].photo is not None
    assert album[0].photo[-1].file_id != album[1].photo[-1].file_id  # type: ignore[index]
    gif = await bot.send_animation(fan, BufferedInputFile(b"GIF89a", "dance.gif"))
    assert gif.animation is not None
    assert gif.document is not None
