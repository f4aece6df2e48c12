"""`rapport segment '<condition>'`: how many fans match a condition, and who."""

import sys
from typing import TYPE_CHECKING, Any, NoReturn

import click

if TYPE_CHECKING:
    from dialogs.conditions import Condition
    from storage.models import Fan


@click.command("segment")
@click.argument("condition")
@click.option("--sample", default=10, show_default=True, help="How many fans to list.")
def segment(condition: str, sample: int) -> None:
    """Count the fans matching CONDITION (inline YAML or JSON) and list a sample.

    Example: rapport segment '{all: [{tag: vip}, {said: [buy], within: 30d}]}'
    """
    from bot.cli import _database, _run
    from storage.clock import utc_now
    from storage.segments import count_and_sample

    parsed = read_condition(condition)

    async def run() -> tuple[int, list["Fan"]]:
        async with _database() as database, database.session() as session:
            return await count_and_sample(session, parsed, utc_now(), sample)

    count, fans = _run(run())
    click.echo(f"{count} fan{'' if count == 1 else 's'} match")
    for fan in fans:
        click.echo(fan_line(fan))


def read_condition(text: str) -> "Condition":
    """A condition from inline YAML or JSON; one clear line and exit 1 if it is not one."""
    import yaml

    from dialogs.conditions import ConditionError, parse_condition

    try:
        data: Any = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at column {mark.column + 1}" if mark is not None else ""
        problem = getattr(error, "problem", None) or "cannot be read"
        invalid(f"condition: not YAML or JSON{where}: {problem}")
    try:
        return parse_condition(data)
    except ConditionError as error:
        message = str(error)
        invalid(message if message.startswith("condition:") else f"condition: {message}")


def fan_line(fan: "Fan") -> str:
    """id, name, @username, language, status: one fan per line."""
    name = " ".join(part for part in (fan.first_name, fan.last_name) if part) or "-"
    username = f"@{fan.username}" if fan.username else "-"
    return f"{fan.id:>8}  {name:<24} {username:<20} {fan.language or '-':<5} {fan.status}"


def invalid(message: str) -> NoReturn:
    """A mistake in what the user typed: one line on stderr, exit status 1."""
    click.echo(f"error: {message}", err=True)
    sys.exit(1)
