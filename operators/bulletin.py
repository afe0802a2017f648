"""The statistics of a period as a page, a printable bulletin and CSV files.

Used by the dashboard (operators.statistics) and by `sos-bot report`. Everything shown comes
from bot.stats, already suppressed; nothing here names a listener or a young person.
"""

from __future__ import annotations

import csv
import io
import zipfile
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

from flask import render_template
from sqlmodel import Session

from bot import stats
from bot.runtime import Runtime
from bot.stats.period import Period
from bot.stats.tables import Statistics, Table
from operators.catalog import Catalog

HERE = Path(__file__).parent
INDEX = "indice.csv"


@dataclass(frozen=True)
class Chart:
    table: Table
    uri: str  # the SVG as a data: URI, "" when the table has no chart


def collect(session: Session, rt: Runtime, catalog: Catalog, period: Period) -> Statistics:
    labels = stats.Labels(
        outcomes={o.id: o.label for o in catalog.outcomes},
        topics={t.id: t.label for t in catalog.topics},
    )
    return stats.collect(session, period, rt.hours, labels)


def drawn(found: Statistics) -> dict[str, str]:
    """Each table's chart as a data: URI, by table key."""
    # imported here: pygal (some 4 MB) is loaded when statistics are first drawn, not at start
    from operators import charts

    return {t.key: charts.data_uri(t) for t in found.tables() if t.chart}


def html(found: Statistics, *, service_name: str, now: datetime, standalone: bool) -> str:
    """The bulletin page; standalone: one file with its style inside (to save or send)."""
    css = (HERE / "static" / "bulletin.css").read_text(encoding="utf-8") if standalone else ""
    return render_template(
        "bulletin.html",
        stats=found,
        charts=drawn(found),
        service_name=service_name,
        generated=now,
        standalone=standalone,
        css=css,
    )


def table_csv(table: Table) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([table.header[0] or "voce", *table.header[1:]])
    for row in table.rows:
        writer.writerow([cell.text for cell in row])
    return out.getvalue()


def index_csv(found: Statistics) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(
        ["file", "sezione", "tabella", "periodo", "dal", "al", "precedente_dal", "precedente_al"]
    )
    before = found.previous
    for section in found.sections:
        for table in section.tables:
            writer.writerow(
                [
                    f"{table.key}.csv",
                    section.title,
                    table.title,
                    found.period.label,
                    found.period.start.isoformat(),
                    last_day(found.period.end),
                    before.start.isoformat(),
                    last_day(before.end),
                ]
            )
    return out.getvalue()


def last_day(end: date) -> str:
    """The last day of a period that ends (exclusive) on `end`."""
    return (end - timedelta(days=1)).isoformat()


def files(found: Statistics) -> dict[str, str]:
    """The CSV files of a bulletin: one per table, and the index."""
    return {INDEX: index_csv(found), **{f"{t.key}.csv": table_csv(t) for t in found.tables()}}


def write_csv(found: Statistics, folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in files(found).items():
        path = folder / name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


def zipped(found: Statistics) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in files(found).items():
            archive.writestr(f"statistiche-{found.period.key}/{name}", text)
    return out.getvalue()
