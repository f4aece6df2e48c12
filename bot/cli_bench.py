"""`rapport bench NAME [OPTIONS]`: run one of the benchmarks in bench/ (see the README)."""

import importlib
from typing import Any

import click

BENCHMARKS = ("inbound", "outbound", "segments", "planner", "idle", "instructions")


@click.command(context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
@click.argument("name", type=click.Choice(BENCHMARKS))
@click.argument("options", nargs=-1, type=click.UNPROCESSED)
def bench(name: str, options: tuple[str, ...]) -> None:
    """Run a benchmark; OPTIONS go to it (`rapport bench NAME -h` lists them)."""
    # Imported by name: the benchmarks are tools beside the bot, not part of it.
    module: Any = importlib.import_module(f"bench.{name}")
    module.main(list(options))
