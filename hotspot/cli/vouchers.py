"""`hotspot vouchers`: printed codes, as the admin API makes them (the same use case, limits and
audit), into files only their owner reads: a CSV, or A4 sheets of cards to cut out."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from hotspot.billing.voucher_admin import (
    MAX_VOUCHERS_PER_BATCH,
    CreateVoucherBatch,
    create_voucher_batch,
)
from hotspot.catalog.packages import package_by_name
from hotspot.cli.context import CLI_ACTOR, Context, pass_context
from hotspot.core.csvfiles import create_private, create_private_binary, write_csv
from hotspot.web.voucher_sheet import batch_sheets


@click.group("vouchers")
def vouchers_group() -> None:
    """Printed voucher codes."""


@vouchers_group.command("generate")
@click.option("--package", "package_name", required=True, help="Package name, e.g. '1 Day'.")
@click.option(
    "--count", type=int, required=True, help=f"At most {MAX_VOUCHERS_PER_BATCH} per batch."
)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="A CSV of the codes.")
@click.option(
    "--pdf",
    type=click.Path(dir_okay=False, path_type=Path),
    help="A4 sheets of cards to print: package, price, validity, code and a QR code.",
)
@click.option("--batch", default=None, help="Batch label (default: the time, and a suffix).")
@click.option("--operator", "operator_code", help="Whose package (its code), if several sell it.")
@pass_context
def vouchers_generate(
    ctx: Context,
    *,
    package_name: str,
    count: int,
    out: Path | None,
    pdf: Path | None,
    batch: str | None,
    operator_code: str | None,
) -> None:
    """Write COUNT new codes for a package to new files only you may read (0600): a CSV
    (--out), printable sheets (--pdf), or both. The batch is audited (actor `cli`) like one made
    through the admin API, with the same limits; if a file cannot be written, no code exists."""
    if out is None and pdf is None:
        raise click.UsageError("name --out FILE.csv, --pdf FILE.pdf, or both")
    with ctx.transaction() as session:
        chosen = CLI_ACTOR.owner(session, operator_code).id if operator_code else None
        package = package_by_name(session, package_name, chosen)
        command = CreateVoucherBatch(package.id, count, batch)
        created = create_voucher_batch(session, CLI_ACTOR, command, dt.datetime.now(dt.UTC))
        label = created.batch
        if out is not None:
            rows = ([code, package.name, package.price, label] for code in created.codes)
            with private_file(out, "--out", binary=False) as handle:
                write_csv(handle, itertools.chain([["code", "package", "price", "batch"]], rows))
        if pdf is not None:
            with private_file(pdf, "--pdf", binary=True) as handle:
                handle.write(batch_sheets(session, created, ctx.settings.public_base_url))
    written = " and ".join(str(path) for path in (out, pdf) if path is not None)
    click.echo(f"{len(created.codes)} vouchers for {package_name} in {written} (batch {label})")


@contextmanager
def private_file(path: Path, option: str, *, binary: bool) -> Iterator[Any]:
    """A new file only its owner reads; codes are money: never written over a file, nor through
    a link. A failure raises, and the caller's transaction rolls back: no code exists that is
    not in a file."""
    try:
        handle = create_private_binary(path) if binary else create_private(path)
    except OSError as exc:
        raise click.BadParameter(
            f"cannot create {path}: {exc.strerror}", param_hint=option
        ) from None
    with handle:
        yield handle
