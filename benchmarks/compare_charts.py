"""How the candidate charting libraries compare on our two charts: a bar chart and a heat map.

Not a bench_*.py: it needs every candidate installed (pip install pygal matplotlib altair
vl-convert-python), and it is run by hand when the choice is revisited. Each library runs in a
fresh process: import time, the first render, the median of 20 further renders, the peak
resident memory of the process and the size of the SVG.

    python benchmarks/compare_charts.py
"""

from __future__ import annotations

import json
import subprocess
import sys
import time

TOPICS = {
    "famiglia": 412,
    "scuola": 388,
    "ansia": 301,
    "solitudine": 260,
    "relazioni": 197,
    "bullismo": 120,
    "sostanze": 64,
    "soldi": 41,
    "altro": 95,
}
DAYS = ["lun", "mar", "mer", "gio", "ven", "sab", "dom"]
HEAT = [[(d * 7 + h * 13) % 40 for h in range(24)] for d in range(7)]

CANDIDATES: dict[str, tuple[str, str, str]] = {
    "pygal": (
        "import pygal",
        """
c = pygal.HorizontalBar(show_legend=False, width=640, height=360, disable_xml_declaration=True)
c.x_labels = list(TOPICS); c.add("n", list(TOPICS.values())); bar = c.render()
""",
        """
# pygal has no heat map: the closest is a Dot chart, one row a day
c = pygal.Dot(show_legend=False, width=640, height=300, disable_xml_declaration=True)
c.x_labels = [str(h) for h in range(24)]
for name, row in zip(DAYS, HEAT): c.add(name, row)
heat = c.render()
""",
    ),
    "matplotlib": (
        "import io, matplotlib; matplotlib.use('svg'); import matplotlib.pyplot as plt",
        """
fig, ax = plt.subplots(figsize=(6.4, 3.6)); ax.barh(list(TOPICS), list(TOPICS.values()))
buf = io.StringIO(); fig.savefig(buf, format="svg"); plt.close(fig); bar = buf.getvalue()
""",
        """
fig, ax = plt.subplots(figsize=(6.4, 3.0)); ax.imshow(HEAT, aspect="auto", cmap="Blues")
ax.set_yticks(range(7), DAYS); buf = io.StringIO(); fig.savefig(buf, format="svg")
plt.close(fig); heat = buf.getvalue()
""",
    ),
    "altair+vl-convert": (
        "import altair as alt, vl_convert as vlc",
        """
data = alt.Data(values=[{"t": k, "n": v} for k, v in TOPICS.items()])
spec = alt.Chart(data).mark_bar().encode(x="n:Q", y=alt.Y("t:N", sort="-x")).to_dict()
bar = vlc.vegalite_to_svg(spec)
""",
        """
data = alt.Data(values=[{"d": DAYS[d], "h": h, "n": HEAT[d][h]}
                        for d in range(7) for h in range(24)])
spec = alt.Chart(data).mark_rect().encode(x="h:O", y=alt.Y("d:O", sort=DAYS),
                                          color="n:Q").to_dict()
heat = vlc.vegalite_to_svg(spec)
""",
    ),
}

PROBE = """
import json, resource, statistics, time
TOPICS, DAYS, HEAT = {topics!r}, {days!r}, {heat!r}
t0 = time.perf_counter(); {imports}
t_import = time.perf_counter() - t0
def run(code):
    scope = dict(globals()); t = time.perf_counter(); exec(code, scope)
    return time.perf_counter() - t, scope
out = {{"import_ms": t_import * 1000}}
for name, code in (("bar", {bar!r}), ("heat", {heat_code!r})):
    first, scope = run(code)
    svg = scope[name]
    warm = statistics.median(run(code)[0] for _ in range(20))
    out[name] = {{"first_ms": first * 1000, "warm_ms": warm * 1000, "svg_bytes": len(svg)}}
out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps(out))
"""


def main() -> None:
    print(
        f"{'library':20} {'import':>8} {'bar 1st':>8} {'bar':>7} {'bar svg':>8} "
        f"{'heat 1st':>9} {'heat':>7} {'heat svg':>9} {'peak RSS':>9}"
    )
    for name, (imports, bar, heat) in CANDIDATES.items():
        code = PROBE.format(
            topics=TOPICS, days=DAYS, heat=HEAT, imports=imports, bar=bar, heat_code=heat
        )
        started = time.perf_counter()
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
        if done.returncode:
            print(f"{name:20} not available ({done.stderr.strip().splitlines()[-1]})")
            continue
        r = json.loads(done.stdout)
        b, h = r["bar"], r["heat"]
        print(
            f"{name:20} {r['import_ms']:6.0f}ms {b['first_ms']:6.0f}ms {b['warm_ms']:5.1f}ms "
            f"{b['svg_bytes'] / 1024:6.1f}kB {h['first_ms']:7.0f}ms {h['warm_ms']:5.1f}ms "
            f"{h['svg_bytes'] / 1024:7.1f}kB {r['peak_rss_mb']:7.0f}MB"
            f"   ({time.perf_counter() - started:.1f}s)"
        )


if __name__ == "__main__":
    main()
