"""Reply keyboards: built once per distinct set of buttons, the same on the wire."""

from handlers.replies import keyboard


def test_the_same_buttons_share_one_keyboard_and_other_labels_get_their_own() -> None:
    rows = [[("Yes, happy to", "d:mBkasK57")], [("No, thanks", "d:WlKH7qCy")]]
    first = keyboard(rows)
    assert first is not None
    assert keyboard([list(row) for row in rows]) is first
    assert first.model_dump(exclude_none=True) == {
        "inline_keyboard": [
            [{"text": "Yes, happy to", "callback_data": "d:mBkasK57"}],
            [{"text": "No, thanks", "callback_data": "d:WlKH7qCy"}],
        ]
    }
    renamed = keyboard([[("Yes, Ann!", "d:mBkasK57")], [("No, thanks", "d:WlKH7qCy")]])
    assert renamed is not first
    assert renamed is not None
    assert renamed.inline_keyboard[0][0].text == "Yes, Ann!"
    assert keyboard([]) is None
