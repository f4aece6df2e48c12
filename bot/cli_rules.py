"""`rapport rules`: check the brand's rules, list them with their firings, dry-run one."""

import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

__all__ = ["rules"]


@click.group()
def rules() -> None:
    """The brand's rules (rules.yaml): check, list, dry-run."""


@rules.command("check")
@click.argument(
    "directory", required=False, type=click.Path(exists=True, file_okay=False, path_type=Path)
)
def rules_check(directory: Path | None) -> None:
    """Check the brand folder with its rules (default: RAPPORT_BRAND_DIR); exit 1 on problems.

    Rules refer to steps, fields, keywords and campaigns, so the whole folder is checked.
    """
    import dialogs
    from bot.cli import _fail, _settings

    folder = directory or _settings().brand_dir
    if folder is None:
        _fail("give a brand folder or set RAPPORT_BRAND_DIR")
    problems = dialogs.check_brand_dir(folder)
    for problem in problems:
        click.echo(str(problem))
    if problems:
        click.echo(f"{len(problems)} problem(s)", err=True)
        sys.exit(1)
    brand = dialogs.compile_brand_dir(folder, "check")
    click.echo(f"{len(brand.rules)} rule(s), no problems")


@rules.command("list")
def rules_list() -> None:
    """The active version's rules: trigger, enabled, last fired, firing count."""
    from bot.cli import _run
    from storage.repositories import rule_firings

    async def run() -> None:
        async with _active_brand() as (brand, session):
            history = await rule_firings.summary(session)
        click.echo(f"{'rule':<28} {'trigger':<40} {'enabled':<8} {'last fired':<17} firings")
        for rule in brand.rules.values():
            fired = history.get(rule.name)
            last = fired.last_fired_at if fired else None
            click.echo(
                f"{rule.name:<28} {rule.trigger.describe():<40} "
                f"{'yes' if rule.enabled else 'no':<8} "
                f"{last.strftime('%Y-%m-%d %H:%M') if last else '-':<17} "
                f"{fired.count if fired else 0}"
            )

    _run(run())


@rules.command("dry-run")
@click.argument("name")
@click.option("--sample", default=10, show_default=True, help="How many fans to show.")
@click.option(
    "--at",
    "at",
    type=click.DateTime(formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"]),
    help="Pretend it is this time (UTC), instead of now.",
)
def rules_dry_run(name: str, sample: int, at: datetime | None) -> None:
    """How many fans match rule NAME now, and when a sample's sends would land."""
    from bot.cli import _fail, _run
    from scheduler.policy import fan_zone
    from scheduler.rules.dry_run import DryRun, dry_run
    from storage.clock import utc_now

    now = at.replace(tzinfo=UTC) if at is not None else utc_now()

    async def run() -> tuple[DryRun, Any] | None:
        async with _active_brand() as (brand, session):
            rule = brand.rules.get(name)
            if rule is None:
                return None
            return await dry_run(session, brand, rule, now, sample), brand

    found = _run(run())
    if found is None:
        _fail(f"no rule '{name}' in the active brand version (see `rapport rules list`)")
    result, brand = found
    click.echo(f"rule {result.rule}: {result.matching} fan(s) match at {now:%Y-%m-%d %H:%M} UTC")
    for landing in result.sample:
        zone = fan_zone(landing.timezone, brand.settings)
        after = f" (after {', '.join(landing.postponed)})" if landing.postponed else ""
        if landing.lands_at is not None:
            local = landing.lands_at.astimezone(zone)
            when = f"lands {local:%Y-%m-%d %H:%M} {zone.key}{after}"
        else:
            when = f"not sent: {landing.outcome}{after}"
        click.echo(f"  fan {landing.fan_id} {landing.name}: {when}")


def _active_brand() -> Any:
    """The migrated database's session and its active, compiled brand version."""
    from contextlib import asynccontextmanager

    import dialogs
    from bot.cli import _database, _fail
    from storage.brand_cache import BrandCache, NoActiveBrandError

    @asynccontextmanager
    async def opened() -> Any:
        async with _database() as database, database.session() as session:
            try:
                brand = await BrandCache(dialogs.compile_brand).current(session)
            except NoActiveBrandError:
                _fail("no brand version is active: import one with `rapport brand import DIR`")
            yield brand, session

    return opened()
