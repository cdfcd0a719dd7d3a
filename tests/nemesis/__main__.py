"""``python -m tests.nemesis``: the nemesis run (``make nemesis``); see docs/nemesis.md."""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
import tempfile
import time
from pathlib import Path

from tests.nemesis.network import check_prerequisites
from tests.nemesis.run import Options, run


def main() -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.nemesis",
        description="Two instances of every service under crashes, pauses, partitions and "
        "rebalances, with a steady load of whole cases; then every check.",
    )
    parser.add_argument("--minutes", type=float, default=10.0, help="how long faults go on")
    parser.add_argument("--workers", type=int, default=4, help="cases in progress at a time")
    parser.add_argument("--seed", type=int, default=int(time.time()), help="of the fault plan")
    parser.add_argument("--lanes", type=int, default=2, help="faults on instances at the same time")
    parser.add_argument(
        "--workdir",
        type=Path,
        help="logs, data, mail and figures (default: a new directory under /tmp, kept)",
    )
    args = parser.parse_args()
    problem = check_prerequisites()
    if problem is not None:
        print(f"nemesis: {problem}", file=sys.stderr)
        return 2
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="passend-nemesis-"))
    workdir.mkdir(parents=True, exist_ok=True)
    print(f"seed {args.seed}; logs and figures in {workdir}", flush=True)
    options = Options(args.minutes, args.workers, workdir.resolve(), args.seed, args.lanes)
    return asyncio.run(_main(options))


async def _main(options: Options) -> int:
    """The run; SIGTERM and Ctrl-C end it, after its instances, servers and namespaces."""
    task = asyncio.current_task()
    assert task is not None
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, task.cancel)
    try:
        return await run(options, say=lambda line: print(line, flush=True))
    except asyncio.CancelledError:
        print("nemesis: stopped; everything it started is stopped too", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
