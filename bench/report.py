"""Targets, machine facts and the Markdown table of a benchmark run."""

from __future__ import annotations

import os
import platform
import subprocess
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def machine_info() -> dict[str, Any]:
    cpu = ""
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem_kib = 0
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            mem_kib = int(line.split()[1])
    return {
        "nproc": os.cpu_count(),
        "cpu_model": cpu,
        "memory_mib": mem_kib // 1024,
        "kernel": platform.release(),
        "python": platform.python_version(),
        "load_avg_at_start": list(os.getloadavg()),
    }


def git_info() -> dict[str, Any]:
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=False).stdout.strip()

    changed = [line for line in git("status", "--porcelain", "--untracked-files=no").splitlines() if line]
    return {"commit": git("rev-parse", "HEAD"), "subject": git("log", "-1", "--format=%s"), "modified_files": changed}


def evaluate(name: str, row: dict[str, Any], books: int) -> tuple[str, bool | None]:
    """The issue's target for a scenario, and whether this run met it (None: no target)."""
    rj, rp = row.get("ratio_j"), row.get("ratio_p")
    p95 = row.get("latency_ms", {}).get("p95")
    at_scale = books >= 1_000_000
    if name == "detail":
        return "≥ 0.40xJ and ≥ 0.30xP", bool(rj is not None and rp is not None and rj >= 0.40 and rp >= 0.30)
    if name == "list":
        constant = row.get("constant_queries")
        return "≥ 0.25xJ, constant queries", bool(rj is not None and rj >= 0.25 and constant)
    if name == "list_filtered":
        return "≥ 0.15xJ", bool(rj is not None and rj >= 0.15)
    if name == "facets_uncached":
        return ("p95 ≤ 200 ms" + ("" if at_scale else " (at 1M)")), bool(p95 is not None and p95 <= 200)
    if name == "suggest":
        return ("p95 ≤ 20 ms" + ("" if at_scale else " (at 1M)")), bool(p95 is not None and p95 <= 20)
    if name == "search_selective":
        return ("p95 ≤ 50 ms" + ("" if at_scale else " (at 1M)")), bool(p95 is not None and p95 <= 50)
    if name == "search_broad":
        return ("p95 ≤ 150 ms" + ("" if at_scale else " (at 1M)")), bool(p95 is not None and p95 <= 150)
    if name == "search_typo":
        return ("p95 ≤ 150 ms" + ("" if at_scale else " (at 1M)")), bool(p95 is not None and p95 <= 150)
    if name == "orders":
        check = row.get("check", {})
        rps = row.get("headline_rps", row.get("rps"))
        ok = (
            rps is not None
            and rps >= 300
            and check.get("consistent") is True
            and row.get("server_errors", 1) == 0
            and check.get("deadlock_rate", 0) < 0.005
        )
        return "≥ 300 orders/s, 0 oversell, 0 5xx, deadlocks < 0.5 %", bool(ok)
    if name == "apikey":
        # The interleaved in-process measure when there is one: wrk's two runs see different machine load.
        overhead = row.get("in_process", {}).get("overhead_p50_ms", row.get("overhead_p50_ms"))
        return "≤ 1 ms p50 over anonymous", bool(overhead is not None and overhead <= 1.0)
    return "", None


def _fmt(value: Any, digits: int = 2) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def markdown_table(result: dict[str, Any]) -> str:
    lines = [
        "| scenario | conns | req/s | p50 ms | p95 ms | p99 ms | non-2xx | 5xx + socket errors | xJ | xP | target | met |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|:-:|",
    ]
    for name, row in result["scenarios"].items():
        if "rps" not in row:
            continue
        lat = row.get("latency_ms", {})
        met = row.get("met")
        lines.append(
            "| {label} | {conns} | {rps} | {p50} | {p95} | {p99} | {non2xx} | {errors} | {rj} | {rp} | {target} | {met} |".format(
                label=row.get("label", name),
                conns=row.get("connections", "-"),
                rps=_fmt(row.get("headline_rps"), 0),
                p50=_fmt(lat.get("p50")),
                p95=_fmt(lat.get("p95")),
                p99=_fmt(lat.get("p99")),
                non2xx=row.get("non_2xx", 0),
                errors=row.get("server_errors", 0) + row.get("socket_error_count", 0),
                rj=_fmt(row.get("ratio_j")),
                rp=_fmt(row.get("ratio_p")),
                target=row.get("target", ""),
                met={True: "yes", False: "**no**", None: ""}[met],
            )
        )
    return "\n".join(lines)


def extra_lines(result: dict[str, Any]) -> str:
    """The numbers that are not a wrk row: admin server times, memory, order check."""
    out = []
    s = result["scenarios"]
    if "apikey" in s and "overhead_p50_ms" in s["apikey"]:
        # Compared with the same request taking the same path (documents off); older results compared with
        # the cached anonymous request.
        base = s.get(s["apikey"].get("compared_with", "anonymous"), s["anonymous"])
        if "anonymous_uncached" in s:
            out.append(
                f"- Anonymous detail from its stored document: p50 {s['anonymous']['latency_ms']['p50']} ms; "
                f"the same request with documents off (DRF and the database, as a key or JWT caller's): "
                f"p50 {s['anonymous_uncached']['latency_ms']['p50']} ms."
            )
        out.append(
            f"- API-key overhead: p50 {s['apikey']['latency_ms']['p50']} ms with the key vs "
            f"{base['latency_ms']['p50']} ms anonymous (1 connection, two wrk runs"
            f"{', documents off' if base is not s['anonymous'] else ''}) = "
            f"{s['apikey']['overhead_p50_ms']:+.2f} ms"
            + (
                f"; interleaved in-process (same request, {s['apikey']['in_process']['samples']} each): "
                f"{s['apikey']['in_process']['apikey_p50_ms']} vs {s['apikey']['in_process']['anonymous_p50_ms']} ms "
                f"= **{s['apikey']['in_process']['overhead_p50_ms']:+.2f} ms**."
                if "in_process" in s["apikey"]
                else "."
            )
        )
    in_process = s.get("apikey", {}).get("in_process", {})
    if "cpu_overhead_p50_ms" in in_process:
        counts = in_process.get("per_request", {})
        out.append(
            f"- API-key CPU time in-process (thread, p50): {in_process['apikey_cpu_p50_ms']} vs "
            f"{in_process['anonymous_cpu_p50_ms']} ms anonymous = {in_process['cpu_overhead_p50_ms']:+.2f} ms"
            + (
                f" (JWT {in_process['jwt_cpu_overhead_p50_ms']:+.2f} ms)"
                if "jwt_cpu_overhead_p50_ms" in in_process
                else ""
            )
            + "; per request: "
            + ", ".join(
                f"{name} {c['queries']} queries + {len(c['redis_commands'])} Redis commands"
                for name, c in counts.items()
            )
            + "."
        )
    if "jwt" in s and "overhead_p50_ms" in s["jwt"]:
        out.append(
            f"- JWT overhead: p50 {s['jwt']['latency_ms']['p50']} ms with a JWT (wrk) = "
            f"{s['jwt']['overhead_p50_ms']:+.2f} ms over anonymous"
            + (
                f"; interleaved in-process: {in_process['jwt_p50_ms']} ms = {in_process['jwt_overhead_p50_ms']:+.2f} ms."
                if "jwt_p50_ms" in in_process
                else "."
            )
        )
    if "orders" in s and "check" in s["orders"]:
        c = s["orders"]["check"]
        out.append(
            f"- Orders: {c['orders']} placed, {c['units_sold']} units sold = {c['stock_consumed']} stock consumed "
            f"({'consistent' if c['consistent'] else 'INCONSISTENT'}), lowest stock {c['min_stock']}, "
            f"{c['negative_stock_books']} books below zero, {c.get('deadlocks', '-')} deadlocks "
            f"({c.get('deadlock_rate', 0) * 100:.2f} %), 409 insufficient stock: {c.get('rejected_409', 0)}."
        )
    for name in ("admin_changelist", "admin_dashboard"):
        if name in s:
            a = s[name]
            out.append(
                f"- {a['label']}: server time p50 {a['server_ms']['p50']} ms, p95 {a['server_ms']['p95']} ms; "
                f"client time p50 {a['client_ms']['p50']} ms ({a['samples']} sequential GETs, "
                f"{a.get('queries', '-')} queries per page)."
            )
    mem = result.get("memory", {})
    if mem.get("soak"):
        m = mem["soak"]
        out.append(
            f"- Worker RSS: {m['start_mib']} MiB at start, {m['warm_mib']} MiB after {m['warm_requests']:,} requests, "
            f"{m['end_mib']} MiB after {m['requests']:,} requests"
            f"{'' if m.get('reached_requests_goal', True) else ' (the soak time limit came first)'}"
            f" (max per worker; growth after warm-up "
            f"{m['growth_pct']:+.1f} %; target ≤ 80 MiB and < 5 %: {'met' if m['met'] else 'NOT met'})."
        )
    if mem.get("main"):
        m = mem["main"]
        out.append(
            f"- Worker RSS in the main run: {m['start_mib']} MiB at start, {m['end_mib']} MiB after "
            f"{m['requests']:,} requests of every scenario (max per worker)."
        )
    c = result.get("ceilings", {})
    if c:
        out.append(
            f"- Ceilings: J {c['J_rps']:.0f} req/s, P {c['P_rps']:.0f} req/s (mean of a run before and after the "
            f"scenarios; drift J {c['J_drift_pct']:+.1f} %, P {c['P_drift_pct']:+.1f} %)."
        )
    return "\n".join(out)
