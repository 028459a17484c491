"""``python -m bench [name ...]``: run the benchmarks (all by default) against the local servers."""
import importlib
import sys

BENCHMARKS = ["ingestion", "gateway", "readpath", "memory", "idle", "surge", "report_card", "shredding"]


def main(names: list[str]) -> int:
    for name in names or BENCHMARKS:
        try:
            module = importlib.import_module(f"bench.{name}")
        except ModuleNotFoundError as missing:
            if missing.name != f"bench.{name}":
                raise
            print(f"bench: {name} is not written yet", flush=True)
            continue
        print(f"bench: {name}", flush=True)
        module.main()
    return 0


sys.exit(main(sys.argv[1:]))
