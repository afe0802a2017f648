"""Time triage() on a pack with 1,000 synthetic FAQ entries: python benchmarks/bench_triage.py

    python benchmarks/bench_triage.py [--smoke]

--smoke runs the same code with 50 entries and a few timed calls, to check the benchmark runs.
Baselines measured in the same run, on the same messages:
  normalise   the text normalisation alone (the floor every approach pays)
  extractOne  a bare rapidfuzz process.extractOne (WRatio) over every FAQ question string
"""

from __future__ import annotations

import argparse
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rapidfuzz import fuzz, process

from benchmarks.summary import record
from flows import Pack, load_pack, triage
from flows.pack import DEFAULT_DIR

ENTRIES = 1_000
RUNS = 300  # timed calls per message
TARGET_US = 1_000  # median per message, with ENTRIES FAQ entries
SYLLABLES = (
    "ba be bi bo bu ca ce ci co cu da de di do du fa fe fi fo la le li lo lu ma me mi mo "
    "na ne ni no pa pe pi po ra re ri ro sa se si so ta te ti to va ve vi vo za ze".split()
)


def word(rng: random.Random) -> str:
    return "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4)))


def synthetic_pack(folder: Path, rng: random.Random, entries: int) -> list[str]:
    """Copy the built-in pack and add `entries` FAQ entries; return their questions."""
    shutil.copytree(DEFAULT_DIR, folder)
    vocabulary = list({word(rng) for _ in range(4_000)})
    common = ["come", "quando", "dove", "posso", "serve", "avete", "siete", "chi", "cosa"]
    questions: list[str] = []
    lines = []
    for i in range(entries):
        topic = rng.sample(vocabulary, 3)
        asked = [
            " ".join([rng.choice(common), *rng.sample(topic, 2), rng.choice(vocabulary)])
            for _ in range(4)
        ]
        asked = list(dict.fromkeys(asked))
        questions += asked
        lines += [
            f"[synthetic-{i}]",
            f'title.it = "Domanda {i}"',
            f'title.en = "Question {i}"',
            f"questions.it = {asked[:-1]!r}".replace("'", '"'),
            f"questions.en = {asked[-1:]!r}".replace("'", '"'),
            f'answer.it = "Risposta {i}"',
            f'answer.en = "Answer {i}"',
            "",
        ]
    with (folder / "faq.toml").open("a", encoding="utf-8") as f:
        f.write("\n" + "\n".join(lines))
    return questions


def typo(text: str, rng: random.Random) -> str:
    chars = list(text)
    i = rng.randrange(1, len(chars) - 1)
    chars[i], chars[i + 1] = chars[i + 1], chars[i]
    return "".join(chars)


def timed(fn: Callable[[str], object], messages: list[str], runs: int) -> tuple[float, float]:
    """Median and 95th percentile in microseconds of fn over the messages, `runs` times each."""
    samples = []
    for _ in range(runs):
        for message in messages:
            start = time.perf_counter_ns()
            fn(message)
            samples.append((time.perf_counter_ns() - start) / 1_000)
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.95)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--smoke",
        action="store_true",
        help="50 entries and a few calls, to check the benchmark still runs",
    )
    args = parser.parse_args()
    entries, runs = (50, 3) if args.smoke else (ENTRIES, RUNS)
    rng = random.Random(7)
    with tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as tmp:
        folder = Path(tmp) / "pack"
        questions = synthetic_pack(folder, rng, entries)
        start = time.perf_counter()
        pack: Pack = load_pack(folder)
        loaded = time.perf_counter() - start
        start = time.perf_counter()
        load_pack(folder)
        cached = time.perf_counter() - start
    strings = [
        pack.normalize.text(q)
        for faq in pack.faqs.values()
        for qs in faq.questions.values()
        for q in qs
    ]
    kinds = {
        "FAQ, as written": rng.sample(questions, 5),
        "FAQ, with a typo": [typo(q, rng) for q in rng.sample(questions, 5)],
        "FAQ, real": ["a che ora aprite?", "è gratis??", "i miei lo verranno a sapere?"],
        "crisis": ["nn ce la faccio + voglio farla finita", "mi voglio ammazzà", "kms"],
        "personal": ["i miei litigano sempre e sto malissimo", "a scuola mi prendono in giro"],
        "greeting": ["ciaooo", "MENU"],
        "unknown chatter": ["che tempo fa domani?", "mi consigli una pizzeria", "boh"],
        "long (60 words)": [" ".join(rng.choice(questions).split()[:3] + ["e poi"] * 28)],
    }
    print(
        f"pack: {len(pack.faqs)} FAQ ({entries} synthetic), {len(strings)} question strings; "
        f"load {loaded * 1000:.0f} ms, cached {cached * 1e6:.0f} µs\n"
    )
    header = (
        f"{'message kind':<18} {'triage p50':>11} {'triage p95':>11} "
        f"{'normalise p50':>14} {'extractOne p50':>15}"
    )
    print(header)
    print("-" * len(header))
    totals = []
    for kind, messages in kinds.items():
        p50, p95 = timed(lambda m: triage(pack, m), messages, runs)
        n50, _ = timed(pack.normalize, messages, runs)
        e50, _ = timed(
            lambda m: process.extractOne(m, strings, scorer=fuzz.WRatio), messages[:1], runs
        )
        totals.append(p50)
        print(f"{kind:<18} {p50:>9.0f}µs {p95:>9.0f}µs {n50:>12.0f}µs {e50:>13.0f}µs")
    median = statistics.median(totals)
    met = median < TARGET_US
    print(
        f"\nmedian of the medians: {median:.0f} µs per message (target: under {TARGET_US} µs "
        f"with {ENTRIES:,} FAQ entries: {'met' if met else 'NOT met'})"
    )
    record(
        __file__,
        f"triage, median per message ({entries:,} FAQ entries)",
        f"{median:.0f} µs",
        f"< {TARGET_US:,} µs with {ENTRIES:,} entries",
        met,
    )


if __name__ == "__main__":
    main()
