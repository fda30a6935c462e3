"""Every benchmark, one command: python -m bench  [--quick] [--only SECTION ...] [--target URL --model HANDLE]

Run from the repository root (PostgreSQL sections use --pg, default the local server, in throwaway
databases). Each section prints a table: medians, p99s, and ratios to a baseline measured in the
same run, because these machines are noisy (the load average is printed before and after).

Sections: personas (load + render 10,000 personas with inheritance), turn (one turn in our code,
library call, SQLite and PostgreSQL), http (one turn through HTTP, `llm-persona serve` in its own
process), concurrency (1,000 conversations at once against a fake model answering after 500 ms),
startup (cold start of `llm-persona serve`; RSS after 10,000 turns).

--target URL --model HANDLE also measures another server speaking Letta's /v1 API (e.g. Letta
0.16.8) in the http and concurrency sections and prints llm-persona / peer ratios. Point that
server's OpenAI provider at the fake this run starts: `--fake-port 8399` fixes its address,
http://127.0.0.1:8399/v1, so the peer can be configured first. Its model `fake-model` answers at
once, `fake-model-500ms` after 500 ms (the concurrency section uses HANDLE with that suffix). Letta
lists the models of an OpenAI base URL other than api.openai.com as `openai-proxy/NAME`, so
HANDLE is `openai-proxy/fake-model` there. --peer-pid PID (the peer's server process, on this
machine) also reads its RSS after the http section and its CPU per message in the concurrency one.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
import traceback
from collections.abc import Callable

from bench import concurrency, http_turn, personas, startup, turn
from bench._procs import PG_DEFAULT, Peer, Process, fake_openai
from bench._report import Table, show
from bench.fake_openai import MODEL

Section = Callable[[argparse.Namespace, Process, Peer | None], Table]


def _engines(args: argparse.Namespace) -> tuple[str, ...]:
    return ("sqlite",) if args.no_pg else ("sqlite", "postgresql")


SECTIONS: dict[str, Section] = {
    "personas": lambda a, fake, peer: (
        personas.run(2_000, rounds=1, repeat=2) if a.quick else personas.run(10_000, rounds=3, repeat=3)
    ),
    "turn": lambda a, fake, peer: turn.run(200 if a.quick else 1_000, _engines(a), a.pg),
    "http": lambda a, fake, peer: http_turn.run(100 if a.quick else 500, _engines(a), a.pg, fake, peer),
    "concurrency": lambda a, fake, peer: concurrency.run(
        1_000, 1 if a.quick else 3, 0.5, _engines(a), a.pg, fake, peer, ("sqlite",) if a.quick else None
    ),
    "startup": lambda a, fake, peer: (
        startup.run(2, 1_000, 20, _engines(a), a.pg, fake)
        if a.quick
        else startup.run(5, 10_000, 100, _engines(a), a.pg, fake)
    ),
}


def _load() -> str:
    return ", ".join(f"{v:.2f}" for v in os.getloadavg())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="a short run of every section (~2 minutes)")
    parser.add_argument(
        "--only",
        action="extend",
        nargs="+",
        metavar="SECTION",
        help=f"run only these sections (separate with spaces or commas): {', '.join(SECTIONS)}",
    )
    parser.add_argument(
        "--target", metavar="URL", help="another server speaking Letta's /v1 API, measured too"
    )
    parser.add_argument(
        "--model", default=f"openai/{MODEL}", help="model handle the peer's agents use (default: %(default)s)"
    )
    parser.add_argument("--api-key", default=os.environ.get("LETTA_API_KEY"), help="the peer's API key")
    parser.add_argument(
        "--peer-pid", type=int, help="the peer's server process on this machine: its RSS and CPU are read"
    )
    parser.add_argument("--pg", default=PG_DEFAULT, help="PostgreSQL server (default: %(default)s)")
    parser.add_argument("--no-pg", action="store_true", help="SQLite only")
    parser.add_argument(
        "--fake-port", type=int, default=0, help="port of the fake OpenAI server (default: any)"
    )
    args = parser.parse_args(argv)

    chosen = [name for value in args.only or [] for name in value.split(",") if name]
    unknown = sorted(set(chosen) - set(SECTIONS))
    if unknown:
        parser.error(f"unknown section(s) {', '.join(unknown)}; choose from {', '.join(SECTIONS)}")
    names = [name for name in SECTIONS if not chosen or name in chosen]
    peer = Peer(args.target, args.model, args.api_key, args.peer_pid) if args.target else None

    began = time.perf_counter()
    print(
        f"llm-persona benchmarks ({'quick' if args.quick else 'full'} run: {', '.join(names)}); "
        f"Python {platform.python_version()}, {platform.system()}, {os.cpu_count()} cores; "
        f"load average {_load()}",
        flush=True,
    )
    failed = []
    with fake_openai(args.fake_port) as fake:
        print(f"fake OpenAI server: {fake.url}" + (f"; peer: {peer.url} ({peer.model})" if peer else ""))
        print(flush=True)
        for name in names:
            started = time.perf_counter()
            try:
                table = SECTIONS[name](args, fake, peer)
                table.notes.append(f"({name}: {time.perf_counter() - started:.0f} s)")
                show(table)
            except Exception:
                failed.append(name)
                print(f"== {name}: FAILED ==\n{traceback.format_exc()}", flush=True)
    print(f"done in {time.perf_counter() - began:.0f} s; load average {_load()}")
    if failed:
        print(f"failed sections: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
