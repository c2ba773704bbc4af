"""Fuzz ``derive show`` with mutated TOML specs and count the outcomes.

    python benchmarks/fuzz_spec.py --code /path/to/checkout --n 3000 --out fuzz.jsonl

``--code`` is the checkout whose ``derive`` is run (the mutations always come from this
checkout's tests/hostile.py, so two checkouts see the same specs). Each spec runs
in-process in a worker; a worker that dies (a C stack overflow) is restarted after the
spec that killed it. Outcomes: ``clean`` (exit 2, one ``derive: error:`` message),
``ok`` (exit 0), ``traceback`` (an exception escaped ``main``), ``bad-exit`` (another
exit code), ``crash`` (the worker died), plus how many took over 2 s.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import io
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent
TIMEOUT = 30


class _Timeout(Exception):
    pass


def _alarm(signum: int, frame: object) -> None:
    raise _Timeout


def worker(code: str, start: int, n: int, out: str, command: str = "show") -> None:
    """Run specs ``start..n-1`` in this process, one JSON line each."""
    sys.path.insert(0, code)
    sys.path.insert(1, str(HERE / "tests"))
    sys.set_int_max_str_digits(4300)
    from hostile import mutate, to_toml  # type: ignore[import-not-found]

    from derive.cli import main

    signal.signal(signal.SIGALRM, _alarm)
    tmp = Path(tempfile.mkdtemp())
    with open(out, "a", encoding="utf-8") as log:
        for i in range(start, n):
            text = to_toml(mutate(random.Random(i)))
            path = tmp / f"spec{i}.toml"
            path.write_text(text, "utf-8")
            log.write(json.dumps({"i": i, "started": True}) + "\n")
            log.flush()
            err = io.StringIO()
            t0 = time.perf_counter()
            signal.alarm(TIMEOUT)
            try:
                with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
                    rc = main([command, str(path)])
                msg = err.getvalue()
                if rc == 2 and msg.startswith("derive: error:"):
                    kind = "clean"
                elif rc == 0:
                    kind = "ok"
                else:
                    kind = "bad-exit"
                detail = msg.splitlines()[0][:300] if msg else ""
            except _Timeout:
                kind, detail = "traceback", f"timeout after {TIMEOUT} s"
            except BaseException as exc:  # noqa: BLE001 - counting what escapes
                kind, detail = "traceback", f"{type(exc).__name__}: {str(exc)[:200]}"
            finally:
                signal.alarm(0)
            dt = time.perf_counter() - t0
            log.write(
                json.dumps({"i": i, "kind": kind, "s": round(dt, 3), "detail": detail}) + "\n"
            )
            log.flush()
            path.unlink()


def drive(code: str, n: int, out: str, command: str = "show") -> None:
    Path(out).write_text("")
    start = 0
    while start < n:
        subprocess.run(
            [
                sys.executable,
                __file__,
                "--worker",
                "--code",
                code,
                "--start",
                str(start),
                "--n",
                str(n),
                "--out",
                out,
                "--command",
                command,
            ],
            env={**os.environ, "PYTHONPATH": code},
            check=False,
        )
        rows = [json.loads(line) for line in Path(out).read_text().splitlines()]
        last = rows[-1] if rows else None
        if last is None or last["i"] >= n - 1 and "kind" in last:
            break
        if "started" in last:  # the worker died on this spec
            with open(out, "a") as log:
                log.write(
                    json.dumps({"i": last["i"], "kind": "crash", "s": 0, "detail": ""}) + "\n"
                )
        start = last["i"] + 1
    summary(out)


def summary(out: str) -> None:
    rows = [json.loads(line) for line in Path(out).read_text().splitlines()]
    done = [r for r in rows if "kind" in r]
    counts = collections.Counter(r["kind"] for r in done)
    slow = sum(r["s"] > 2 for r in done)
    print(
        f"{len(done)} specs: "
        + ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
        + f"; over 2 s: {slow}"
    )
    details = collections.Counter(
        r["detail"].split(":")[0] for r in done if r["kind"] in ("traceback", "bad-exit")
    )
    for d, c in details.most_common():
        print(f"  {c:5d}  {d}")
    for r in sorted(done, key=lambda r: -r["s"])[:5]:
        print(f"  slowest: spec {r['i']} {r['s']} s {r['kind']} {r['detail'][:80]}")


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--code", default=str(HERE))
    ap.add_argument("--n", type=int, default=3000)
    ap.add_argument("--start", type=int, default=0)
    ap.add_argument("--out", default="fuzz.jsonl")
    ap.add_argument("--worker", action="store_true")
    ap.add_argument("--command", default="show", choices=("show", "latex", "export"))
    ap.add_argument("--summary", action="store_true")
    a = ap.parse_args()
    if a.worker:
        worker(a.code, a.start, a.n, a.out, a.command)
    elif a.summary:
        summary(a.out)
    else:
        drive(a.code, a.n, a.out, a.command)
