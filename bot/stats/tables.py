"""The counts of two periods as the tables of the statistics page and the bulletin.

Every table is suppressed here (bot.stats.suppress), once, so the page, the printed bulletin,
the charts and the CSV files all show the same cells: a hidden count is "<5" everywhere, and so
is every figure that would give it away (a change, a share, a median of fewer than 5 waits).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from bot import profile
from bot.figures import OUT_OF_HOURS, Figure, shift_of, summarise, week_of
from bot.stats.counts import Counts
from bot.stats.period import Period
from bot.stats.suppress import HIDDEN, SMALL, hidden_cells
from flows.hours import DAY_NAMES, OpeningHours

NONE = "—"
CHANNELS = {"whatsapp": "WhatsApp", "email": "E-mail", "web": "Simulatore"}
RETURNING = {"first": "Primo contatto", "returning": "Ha già scritto", "not_stated": "Non indicato"}
AGE_BANDS = {**profile.AGE_BANDS, profile.NOT_STATED: "non indicata"}  # as the close form
CRISIS = {
    "suicide": "Pensieri suicidari",
    "despair": "Disperazione",
    "self_harm": "Autolesionismo",
    "abuse": "Maltrattamenti",
    "sexual_violence": "Violenza sessuale",
    "sextortion": "Sextortion",
    "overdose": "Overdose",
    "danger": "Pericolo",
    "eating": "Alimentazione",
    "altro": "Altro",
}
CORRECTIONS = {
    "should_be_crisis": "Doveva essere una crisi",
    "not_crisis": "Non era una crisi",
    "should_be_listener": "Doveva andare a un volontario",
}
BOT_OUTCOMES = {
    "open": "Ancora aperta",
    "stopped": "STOP del ragazzo/a",
    "erased": "Dati cancellati",
    "bot:no_response": "Chiusa dal bot: nessuna risposta",
}


@dataclass(frozen=True)
class Cell:
    text: str
    value: float | None = None  # the number a chart draws; None when hidden or not a number
    hidden: bool = False


@dataclass
class Table:
    """One table: a header, rows whose first cell is the label; the CSV file is `key`.csv."""

    key: str
    title: str
    header: list[str]
    rows: list[list[Cell]]
    note: str = ""
    chart: str = ""  # "bars" | "compare" | "heat" | "" (no chart)
    series: list[int] = field(default_factory=lambda: [1])  # the columns a chart draws
    total_row: bool = False  # the last row holds the totals (not drawn)

    def labels(self) -> list[str]:
        return [row[0].text for row in self.rows]

    def column(self, index: int) -> list[float | None]:
        return [row[index].value for row in self.rows]


@dataclass
class Section:
    key: str
    title: str
    tables: list[Table]


@dataclass
class Statistics:
    period: Period
    previous: Period
    sections: list[Section]
    headline: list[tuple[str, str, str]]  # (what, this period, the previous one)

    def tables(self) -> list[Table]:
        return [t for s in self.sections for t in s.tables]


@dataclass(frozen=True)
class Labels:
    """Names for the ids the counts hold (from the closing catalogue and the directory)."""

    outcomes: Mapping[str, str] = field(default_factory=dict)
    topics: Mapping[str, str] = field(default_factory=dict)
    zones: Mapping[str, str] = field(default_factory=dict)


# building blocks -----------------------------------------------------------------------------


def _count_cells(grid: list[list[int]], **rules: bool) -> list[list[Cell]]:
    hidden = hidden_cells(grid, **rules)
    return [
        [
            Cell(HIDDEN, None, True) if (i, j) in hidden else Cell(str(v), float(v))
            for j, v in enumerate(row)
        ]
        for i, row in enumerate(grid)
    ]


def _change(now: Cell, before: Cell) -> Cell:
    if now.hidden or before.hidden or now.value is None or before.value is None:
        return Cell(NONE)
    delta = int(now.value - before.value)
    if not before.value:
        return Cell(f"{delta:+d}", delta)
    return Cell(f"{delta:+d} ({delta / before.value:+.0%})", delta)


def _share(part: Cell, whole: Cell) -> Cell:
    if part.hidden or whole.hidden or not whole.value or part.value is None:
        return Cell(NONE)
    share = part.value / whole.value
    return Cell(f"{share:.0%}".replace(".", ","), share * 100)


def _label(labels: Mapping[str, str], key: str) -> str:
    return labels.get(key) or key.replace("_", " ").replace("-", " ").capitalize()


def compare(
    key: str,
    title: str,
    now: Counter[str],
    before: Counter[str],
    labels: Mapping[str, str],
    *,
    total: bool,
    first: str,
    order: Sequence[str] = (),
    note: str = "",
    chart: str = "compare",
) -> Table:
    """A count per category, this period against the previous one, with the change."""
    keys = [k for k in order if k in now or k in before]
    keys += sorted((set(now) | set(before)) - set(keys), key=lambda k: (-now[k], -before[k], k))
    grid = [[now[k], before[k]] for k in keys]
    names = [_label(labels, k) for k in keys]
    if total:
        grid.append([sum(now.values()), sum(before.values())])
        names.append("Totale")
    cells = _count_cells(grid, total_row=total)
    rows = [[Cell(name), a, b, _change(a, b)] for name, (a, b) in zip(names, cells, strict=True)]
    header = [first, "Periodo", "Precedente", "Variazione"]
    return Table(key, title, header, rows, note, chart if keys else "", [1, 2], total)


def _figure_cells(f: Figure) -> list[Cell]:
    if f.answered < SMALL:
        return [Cell(NONE)] * 3
    return [Cell(f"{v:.0f}", v) for v in (f.median, f.p90, f.worst) if v is not None]


def _minutes_table(key: str, title: str, rows: list[tuple[str, Figure]], note: str) -> Table:
    counts = _count_cells([[f.answered, f.unanswered] for _, f in rows])
    body = [
        [Cell(name), *pair, *_figure_cells(f)] for (name, f), pair in zip(rows, counts, strict=True)
    ]
    header = ["", "Con risposta", "Senza risposta", "Mediana (min)", "90% (min)", "Peggiore (min)"]
    return Table(key, title, header, body, note)


# the sections --------------------------------------------------------------------------------


def build(now: Counts, before: Counts, hours: OpeningHours, labels: Labels) -> Statistics:
    zone = now.period.zone
    sections = [
        Section("volume", "Volume", _volume(now, before, hours, zone)),
        Section("needs", "Bisogni", _needs(now, before, labels)),
        Section("safety", "Sicurezza", _safety(now, before, hours)),
        Section("quality", "Qualità del servizio", _quality(now, before, hours)),
        Section("referrals", "Invii ai servizi", _referrals(now, before, labels)),
        Section("feedback", "Il parere dei ragazzi", _feedback(now, labels)),
    ]
    summary = sections[0].tables[0]
    headline = [(row[0].text, row[1].text, row[2].text) for row in summary.rows[:2]]
    return Statistics(now.period, before.period, sections, headline)


def _out_of_hours(moments: Counter[datetime], hours: OpeningHours) -> int:
    return sum(n for at, n in moments.items() if not hours.is_open(at))


def _volume(now: Counts, before: Counts, hours: OpeningHours, zone: ZoneInfo) -> list[Table]:
    names = [
        "Conversazioni",
        "Ragazze e ragazzi",
        "di cui al primo contatto",
        "di cui hanno già scritto",
        "di cui non indicato",
        "Aperte fuori orario",
    ]

    def column(c: Counts) -> list[int]:
        return [
            c.conversations,
            c.young_people,
            c.returning["first"],
            c.returning["returning"],
            c.returning["not_stated"],
            _out_of_hours(c.opened, hours),
        ]

    grid = [list(pair) for pair in zip(column(now), column(before), strict=True)]
    cells = _count_cells(grid)
    rows = [[Cell(n), a, b, _change(a, b)] for n, (a, b) in zip(names, cells, strict=True)]
    rows.append(
        [
            Cell("Quota fuori orario"),
            _share(cells[5][0], cells[0][0]),
            _share(cells[5][1], cells[0][1]),
            Cell(NONE),
        ]
    )
    summary = Table(
        "volume",
        "In sintesi",
        ["", "Periodo", "Precedente", "Variazione"],
        rows,
        "Ragazze e ragazzi: persone distinte; una conversazione già resa anonima "
        "conta come una persona. Fuori orario: aperta fuori dagli orari di ascolto.",
    )
    channels = compare(
        "channels",
        "Per canale",
        now.channels,
        before.channels,
        CHANNELS,
        total=True,
        first="Canale",
        order=list(CHANNELS),
    )
    weeks: Counter[tuple[str, str]] = Counter()
    for at, n in now.opened.items():
        weeks[week_of(at, zone)] += n
    ordered = sorted(weeks)
    cells = _count_cells([[weeks[w]] for w in ordered])
    by_week = Table(
        "weeks",
        "Per settimana",
        ["Settimana", "Conversazioni"],
        [[Cell(w[1]), c[0]] for w, c in zip(ordered, cells, strict=True)],
        "Le settimane ai bordi del periodo sono contate solo per i giorni dentro.",
        "bars" if ordered else "",
    )
    return [summary, channels, by_week, _heat(now, zone)]


def _heat(now: Counts, zone: ZoneInfo) -> Table:
    grid = [[0] * 25 for _ in range(7)]
    for at, n in now.opened.items():
        local = at.astimezone(zone)
        grid[local.weekday()][local.hour] += n
        grid[local.weekday()][24] += n
    cells = _count_cells(grid, total_col=True)
    rows = [[Cell(DAY_NAMES["it"][d]), *cells[d]] for d in range(7)]
    header = ["Giorno", *[f"{h:02d}" for h in range(24)], "Totale"]
    return Table(
        "weekday_hour",
        "Giorno e ora di apertura",
        header,
        rows,
        "Ora locale di apertura della conversazione.",
        "heat" if now.conversations else "",
        list(range(1, 25)),
    )


def _needs(now: Counts, before: Counts, labels: Labels) -> list[Table]:
    return [
        compare(
            "topics",
            "Temi",
            now.topics,
            before.topics,
            labels.topics,
            total=False,
            first="Tema",
            note="Una conversazione può avere più temi: i temi non si sommano.",
        ),
        compare(
            "outcomes",
            "Esiti",
            now.outcomes,
            before.outcomes,
            {**BOT_OUTCOMES, **labels.outcomes},
            total=True,
            first="Esito",
        ),
        compare(
            "age_bands",
            "Fasce d'età",
            now.age_bands,
            before.age_bands,
            AGE_BANDS,
            total=True,
            first="Età",
            order=list(AGE_BANDS),
            note="Indicata dal volontario alla chiusura, solo se il ragazzo o la ragazza "
            "l'ha detta.",
        ),
        compare(
            "zones",
            "Zone",
            now.zones,
            before.zones,
            {"not_stated": "non indicata", **labels.zones},
            total=True,
            first="Zona",
        ),
    ]


def _safety(now: Counts, before: Counts, hours: OpeningHours) -> list[Table]:
    crisis = compare(
        "crisis",
        "Crisi per categoria",
        now.crisis_categories,
        before.crisis_categories,
        CRISIS,
        total=True,
        first="Categoria",
        order=list(CRISIS),
    )
    grid = [
        [sum(now.crisis_at.values()), sum(before.crisis_at.values())],
        [_out_of_hours(now.crisis_at, hours), _out_of_hours(before.crisis_at, hours)],
    ]
    cells = _count_cells(grid)
    arrived = Table(
        "crisis_out_of_hours",
        "Crisi fuori orario",
        ["", "Periodo", "Precedente", "Variazione"],
        [
            [Cell("Crisi"), *cells[0], _change(*cells[0])],
            [Cell("di cui fuori orario"), *cells[1], _change(*cells[1])],
        ],
        "Primo messaggio di crisi arrivato fuori dagli orari di ascolto.",
    )
    waits = _minutes_table(
        "crisis_wait",
        "Dal messaggio di crisi alla prima risposta di un volontario",
        [("Periodo", summarise(now.crisis_waits)), ("Precedente", summarise(before.crisis_waits))],
        "Minuti. Mediana, 90° percentile e attesa peggiore; nascoste con meno di 5 risposte.",
    )
    fixes = compare(
        "corrections",
        "Correzioni della lettura del bot",
        now.corrections,
        before.corrections,
        CORRECTIONS,
        total=True,
        first="Correzione",
        order=list(CORRECTIONS),
        chart="",
    )
    return [crisis, arrived, waits, fixes]


def _quality(now: Counts, before: Counts, hours: OpeningHours) -> list[Table]:
    waits = _minutes_table(
        "handover_wait",
        "Dal passaggio a un volontario alla prima risposta",
        [
            ("Periodo", summarise(now.handover_waits)),
            ("Precedente", summarise(before.handover_waits)),
        ],
        "Minuti. Mediana, 90° percentile e attesa peggiore; nascoste con meno di 5 risposte.",
    )
    cells = _count_cells([[now.escalated, before.escalated], [now.abandoned, before.abandoned]])
    abandoned = Table(
        "abandoned",
        "Passate a un volontario e chiuse senza risposta",
        ["", "Periodo", "Precedente", "Variazione"],
        [
            [Cell("Passate a un volontario"), *cells[0], _change(*cells[0])],
            [Cell("chiuse prima di una risposta"), *cells[1], _change(*cells[1])],
            [
                Cell("Quota"),
                _share(cells[1][0], cells[0][0]),
                _share(cells[1][1], cells[0][1]),
                Cell(NONE),
            ],
        ],
        "Chiuse (dal ragazzo, dal bot o da STOP) prima che un volontario scrivesse.",
    )
    return [waits, abandoned, _load(now, hours)]


def _load(now: Counts, hours: OpeningHours) -> Table:
    """Conversations taken per shift (a range of the opening hours), without names."""
    per: dict[tuple[str, str], Counter[str]] = {}
    for (at, listener), n in now.load.items():
        per.setdefault(shift_of(at, hours), Counter())[listener] += n
    shifts = sorted(per)
    grid = [[sum(per[s].values()), len(per[s]), max(per[s].values())] for s in shifts]
    cells = _count_cells(grid)
    rows = []
    for s, (taken, people, most) in zip(shifts, cells, strict=True):
        mean = (
            Cell(NONE)
            if taken.hidden or people.hidden or not people.value or taken.value is None
            else Cell(
                f"{taken.value / people.value:.1f}".replace(".", ","), taken.value / people.value
            )
        )
        rows.append([Cell(s[1]), taken, people, mean, most])
    return Table(
        "load",
        "Carico per turno",
        [
            "Turno",
            "Conversazioni prese in carico",
            "Volontari",
            "Per volontario (media)",
            "Per volontario (massimo)",
        ],
        rows,
        f"Turni: gli orari di ascolto della settimana; «{OUT_OF_HOURS}»: fuori orario. "
        "Somma sui giorni del periodo; nessun nome.",
    )


def _referrals(now: Counts, before: Counts, labels: Labels) -> list[Table]:
    names = {**before.services, **now.services}
    return [
        compare(
            "referrals_services",
            "Per servizio",
            now.referrals_by_service,
            before.referrals_by_service,
            names,
            total=True,
            first="Servizio",
        ),
        compare(
            "referrals_topics",
            "Per tema",
            now.referrals_by_topic,
            before.referrals_by_topic,
            {"non indicato": "Non indicato", **labels.topics},
            total=True,
            first="Tema",
            chart="",
        ),
    ]


def _feedback(now: Counts, labels: Labels) -> list[Table]:
    outcomes = sorted(
        {o for o, _, _ in now.feedback},
        key=lambda o: (list(labels.outcomes).index(o) if o in labels.outcomes else 99, o),
    )

    def grid(pick: Callable[[str], Iterable[int]]) -> list[list[int]]:
        rows = [[*pick(o)] for o in outcomes]
        rows = [[*r, sum(r)] for r in rows]
        return [*rows, [sum(col) for col in zip(*rows, strict=True)]] if rows else []

    def scores(o: str) -> list[int]:
        return [
            sum(n for (oo, s, _), n in now.feedback.items() if oo == o and s == k)
            for k in range(1, 6)
        ]

    def again(o: str) -> list[int]:
        return [
            sum(n for (oo, s, a), n in now.feedback.items() if oo == o and s is not None and a is k)
            for k in (True, False, None)
        ]

    names = [_label(labels.outcomes, o) for o in outcomes] + (["Totale"] if outcomes else [])
    score_grid = grid(scores)
    score_cells = _count_cells(score_grid, total_row=True, total_col=True)
    rows = []
    for name, counts, cells in zip(names, score_grid, score_cells, strict=True):
        answered = cells[-1]
        mean = (
            Cell(NONE)
            if answered.hidden or not counts[-1]
            else Cell(
                f"{sum((k + 1) * n for k, n in enumerate(counts[:5])) / counts[-1]:.1f}".replace(
                    ".", ","
                ),
                sum((k + 1) * n for k, n in enumerate(counts[:5])) / counts[-1],
            )
        )
        rows.append([Cell(name), *cells, mean])
    useful = Table(
        "feedback_useful",
        "«Ti è stato utile?» (da 1 a 5)",
        ["Esito", "1", "2", "3", "4", "5", "Risposte", "Media"],
        rows,
        "Risposte anonime alla domanda del bot dopo la chiusura (mai dopo una crisi); "
        "legate solo all'esito e al mese.",
        "stack" if outcomes else "",
        [1, 2, 3, 4, 5],
        True,
    )
    again_grid = grid(again)
    again_cells = _count_cells(again_grid, total_row=True, total_col=True)
    again_rows = [
        [Cell(name), *cells, _share(cells[0], cells[-1])]
        for name, cells in zip(names, again_cells, strict=True)
    ]
    write_again = Table(
        "feedback_again",
        "«Ci riscriveresti?»",
        ["Esito", "Sì", "No", "Non risposto", "Risposte", "Quota sì"],
        again_rows,
        total_row=True,
    )
    return [useful, write_again]
