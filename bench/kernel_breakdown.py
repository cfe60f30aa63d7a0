"""Per-kernel GPU time from an Nsight Compute CSV (`ncu --csv --metrics gpu__time_duration.sum`),
grouped by kernel name, largest first, with each group's share of the profiled time.

  python bench/kernel_breakdown.py ncu.csv
"""
import csv
import re
import sys
from collections import defaultdict


def main(path):
    lines = [l for l in open(path) if l.startswith('"')]  # ncu's own log lines are not CSV
    rows = csv.DictReader(lines)
    total, groups, counts = 0.0, defaultdict(float), defaultdict(int)
    for r in rows:
        if r.get("Metric Name") != "gpu__time_duration.sum":
            continue
        value = float(r["Metric Value"].replace(",", ""))
        unit = r.get("Metric Unit", "nsecond")
        ns = value * {"nsecond": 1, "usecond": 1e3, "msecond": 1e6, "second": 1e9}.get(unit, 1)
        name = re.sub(r"<.*", "", r["Kernel Name"])[:60]
        groups[name] += ns
        counts[name] += 1
        total += ns
    print(f"{'kernel':60s} {'calls':>6s} {'ms':>9s} {'share':>6s}")
    for name, ns in sorted(groups.items(), key=lambda kv: -kv[1]):
        print(f"{name:60s} {counts[name]:6d} {ns / 1e6:9.2f} {ns / total:6.1%}")
    print(f"{'total':60s} {sum(counts.values()):6d} {total / 1e6:9.2f}")


if __name__ == "__main__":
    main(sys.argv[1])
