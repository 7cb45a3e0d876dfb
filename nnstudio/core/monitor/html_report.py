"""The monitoring report as one self-contained HTML file (inline SVG plots, no external
assets, no scripts): it opens anywhere, offline, and can be mailed as it is."""

from __future__ import annotations

import html
from typing import Any

REF_COLOR = "#9aa5b1"
CUR_COLOR = "#2563eb"
VERDICT_COLOR = {"stable": "#15803d", "watch": "#b45309", "drifted": "#b91c1c"}

_CSS = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px;color:#1f2933}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px}
table{border-collapse:collapse;margin:8px 0}td,th{padding:4px 10px;border-bottom:1px solid #e4e7eb;
text-align:left;vertical-align:top}th{background:#f5f7fa}.num{text-align:right;
font-variant-numeric:tabular-nums}.v{font-weight:600;border-radius:4px;padding:1px 6px;color:#fff}
.muted{color:#616e7c}.cards{display:flex;flex-wrap:wrap;gap:16px}.card{border:1px solid #e4e7eb;
border-radius:6px;padding:10px}.legend span{display:inline-block;width:10px;height:10px;
margin:0 4px 0 10px}
"""


def _e(x: Any) -> str:
    return html.escape(str(x))


def _fmt(v: Any, pct: bool = False) -> str:
    if v is None:
        return "–"
    if isinstance(v, float):
        return f"{v:.1%}" if pct else f"{v:.4g}"
    return _e(v)


def badge(verdict: str) -> str:
    color = VERDICT_COLOR.get(verdict, "#616e7c")
    return f'<span class="v" style="background:{color}">{_e(verdict)}</span>'


def svg_bars(ref: list[float], cur: list[float], labels: list[str] | None = None,
             edges: list[float] | None = None, width: int = 360, height: int = 150) -> str:
    """Overlaid reference (grey) and current (blue) shares as an SVG string."""
    n = len(ref)
    if n == 0:
        return ""
    top = max(max(ref), max(cur), 1e-12)
    pad_l, pad_b = 34, 30 if labels else 18
    w, h = width - pad_l - 6, height - pad_b - 8
    bw = w / n
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'role="img"><rect width="100%" height="100%" fill="#fff"/>']
    for frac in (0.5, 1.0):
        y = 8 + h - frac * h
        parts.append(f'<line x1="{pad_l}" x2="{pad_l + w}" y1="{y:.1f}" y2="{y:.1f}" '
                     'stroke="#e4e7eb"/>')
        parts.append(f'<text x="{pad_l - 4}" y="{y + 4:.1f}" font-size="10" '
                     f'text-anchor="end" fill="#616e7c">{frac * top:.0%}</text>')
    for i, (r, c) in enumerate(zip(ref, cur, strict=True)):
        x = pad_l + i * bw
        rh, ch = r / top * h, c / top * h
        parts.append(f'<rect x="{x + 0.5:.1f}" y="{8 + h - rh:.1f}" width="{max(bw - 1, 1):.1f}"'
                     f' height="{rh:.1f}" fill="{REF_COLOR}" fill-opacity="0.75"/>')
        parts.append(f'<rect x="{x + 0.5:.1f}" y="{8 + h - ch:.1f}" width="{max(bw - 1, 1):.1f}"'
                     f' height="{ch:.1f}" fill="{CUR_COLOR}" fill-opacity="0.45" '
                     f'stroke="{CUR_COLOR}" stroke-width="0.8"/>')
        if labels:
            lab = labels[i] if len(labels[i]) <= 10 else labels[i][:9] + "…"
            parts.append(f'<text x="{x + bw / 2:.1f}" y="{height - 16}" font-size="10" '
                         f'text-anchor="middle" fill="#3e4c59">{_e(lab)}</text>')
    if edges:
        for x_val, anchor, x in ((edges[0], "start", pad_l), (edges[-1], "end", pad_l + w)):
            parts.append(f'<text x="{x:.1f}" y="{height - 4}" font-size="10" '
                         f'text-anchor="{anchor}" fill="#616e7c">{x_val:.4g}</text>')
    parts.append("</svg>")
    return "".join(parts)


def svg_line(xs: list[float], ys: list[float], ref_lines: dict[str, float] | None = None,
             width: int = 560, height: int = 170) -> str:
    """A line chart (rolling metric) with dashed horizontal reference lines."""
    if not xs:
        return ""
    vals = list(ys) + list((ref_lines or {}).values())
    lo, hi = min(vals), max(vals)
    if hi <= lo:
        lo, hi = lo - 0.5, hi + 0.5
    span = hi - lo
    lo, hi = lo - 0.05 * span, hi + 0.05 * span
    x0, x1 = xs[0], xs[-1] if xs[-1] > xs[0] else xs[0] + 1
    pad_l, pad_b = 56, 20
    w, h = width - pad_l - 90, height - pad_b - 8

    def px(x: float) -> float:
        return pad_l + (x - x0) / (x1 - x0) * w

    def py(y: float) -> float:
        return 8 + h - (y - lo) / (hi - lo) * h

    pts = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in zip(xs, ys, strict=True))
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             'role="img"><rect width="100%" height="100%" fill="#fff"/>',
             f'<line x1="{pad_l}" x2="{pad_l + w}" y1="{8 + h}" y2="{8 + h}" stroke="#cbd2d9"/>']
    for v in (lo, hi):
        parts.append(f'<text x="{pad_l - 4}" y="{py(v) + 4:.1f}" font-size="10" '
                     f'text-anchor="end" fill="#616e7c">{v:.4g}</text>')
    for name, v in (ref_lines or {}).items():
        parts.append(f'<line x1="{pad_l}" x2="{pad_l + w}" y1="{py(v):.1f}" y2="{py(v):.1f}" '
                     'stroke="#9aa5b1" stroke-dasharray="4 3"/>')
        parts.append(f'<text x="{pad_l + w + 4}" y="{py(v) + 4:.1f}" font-size="10" '
                     f'fill="#616e7c">{_e(name)}</text>')
    parts.append(f'<polyline points="{pts}" fill="none" stroke="{CUR_COLOR}" '
                 'stroke-width="1.6"/>')
    parts.append(f'<text x="{pad_l}" y="{height - 4}" font-size="10" fill="#616e7c">row '
                 f'{int(x0):,}</text><text x="{pad_l + w}" y="{height - 4}" font-size="10" '
                 f'text-anchor="end" fill="#616e7c">row {int(x1):,}</text></svg>')
    return "".join(parts)


def plot_of(entry: dict[str, Any]) -> str:
    """The SVG of a column's histogram or category bars ("" when it has none)."""
    if "histogram" in entry:
        hgm = entry["histogram"]
        return svg_bars(hgm["reference"], hgm["current"], edges=hgm["edges"])
    if "bars" in entry:
        b = entry["bars"]
        return svg_bars(b["reference"], b["current"], labels=b["labels"])
    return ""


def _stat_line(e: dict[str, Any]) -> str:
    test = "KS" if e.get("test") == "ks" else "χ²"
    bits = [f"PSI {_fmt(e.get('psi'))}", f"{test} p {_fmt(e.get('p_value'))}",
            f"missing {_fmt(e.get('missing'), True)}"]
    if "unseen" in e:
        bits.append(f"unseen {_fmt(e.get('unseen'), True)}")
    return " · ".join(bits)


def html_report(report: dict[str, Any], title: str = "nnstudio monitoring report") -> str:
    """The HTML text of a :func:`~nnstudio.core.monitor.monitor` report."""
    r = report
    t = r["thresholds"]
    out = [f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{_e(title)}"
           f"</title><style>{_CSS}</style></head><body>",
           f"<h1>{_e(title)}</h1>",
           f"<div class='muted'>{_e(r['rows'])} rows from {_e(r['source'])} compared with the "
           f"{_e(r['reference']['source'])} ({_e(r['reference']['rows'])} rows) · model "
           f"{_e(r['model'].get('fingerprint') or '')} ({_e(r['model']['task'])}) · "
           f"{_e(r['created'])}</div>"]
    overall = "drifted" if r["drifted"] else ("watch" if r["summary"].get("watch") else "stable")
    counts = ", ".join(f"{n} {k}" for k, n in sorted(r["summary"].items()))
    out.append(f"<h2>Verdict {badge(overall)}</h2><p>Columns: {_e(counts)}.</p>")
    for note in r.get("notes", []):
        out.append(f"<p class='muted'>Note: {_e(note)}</p>")
    out.append("<table><tr><th>Column</th><th>Kind</th><th>Verdict</th><th class=num>PSI</th>"
               "<th>Test</th><th class=num>p</th><th class=num>Missing</th>"
               "<th class=num>Unseen</th><th>Why</th></tr>")
    for e in r["features"]:
        test = {"ks": "KS", "chi2": "χ²"}.get(e.get("test", ""), "")
        out.append(f"<tr><td>{_e(e['name'])}</td><td>{_e(e['kind'])}</td>"
                   f"<td>{badge(e['verdict'])}</td><td class=num>{_fmt(e.get('psi'))}</td>"
                   f"<td>{test}</td><td class=num>{_fmt(e.get('p_value'))}</td>"
                   f"<td class=num>{_fmt(e.get('missing'), True)}</td>"
                   f"<td class=num>{_fmt(e.get('unseen'), True) if 'unseen' in e else ''}</td>"
                   f"<td>{_e('; '.join(e.get('reasons', [])))}</td></tr>")
    out.append("</table>")
    out.append(f"<p class='muted'>Thresholds: watch at PSI ≥ {t['psi_watch']:g}, drifted at "
               f"PSI ≥ {t['psi_drift']:g}; a test with p &lt; {t['p_value']:g} asks to watch; "
               f"missing share up by {t['missing_watch']:.0%} / {t['missing_drift']:.0%} and "
               f"unseen categories at {t['unseen_watch']:.0%} / {t['unseen_drift']:.0%} mean "
               f"watch / drifted; fewer than {t['min_rows']} values: too few rows.</p>")
    legend = (f"<div class='legend muted'><span style='background:{REF_COLOR}'></span>training"
              f"<span style='background:{CUR_COLOR};opacity:.6'></span>now</div>")
    p = r.get("predictions") or {}
    perf = r.get("performance") or {}
    out.append("<h2>Predictions</h2><div class='cards'>")
    if p:
        out.append(f"<div class='card'><b>Distribution of predictions</b> {badge(p['verdict'])}"
                   f"{legend}{plot_of(p)}<div class='muted'>{_e(_stat_line(p))}</div></div>")
    if perf.get("rows_with_outcome"):
        name = "accuracy" if perf["metric"] == "accuracy" else "mean absolute error"
        trained = perf.get("training") or {}
        split = next((k for k in ("validation", "test", "train") if k in trained), None)
        refs = {split: trained[split]} if split else {}  # one dashed line: the model's own score
        out.append(f"<div class='card'><div><b>Rolling {name}</b> (window {perf['window']:,} "
                   f"rows; {perf['rows_with_outcome']:,} outcomes known; overall "
                   f"{_fmt(perf['value'], perf['metric'] == 'accuracy')}"
                   + (f"; {split} {_fmt(trained[split], perf['metric'] == 'accuracy')}"
                      if split else "") + ")</div>"
                   f"{svg_line(perf['rolling']['row'], perf['rolling']['value'], refs)}</div>")
    else:
        out.append("<div class='card muted'>No true outcomes known yet: send them to POST "
                   "/feedback, import a CSV, or pass --labels.</div>")
    out.append("</div><h2>Columns</h2><div class='cards'>")
    for e in r["features"]:
        out.append(f"<div class='card'><b>{_e(e['name'])}</b> {badge(e['verdict'])}{legend}"
                   f"{plot_of(e)}<div class='muted'>{_e(_stat_line(e))}</div></div>")
    out.append("</div></body></html>\n")
    return "".join(out)
