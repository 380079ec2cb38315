"""Catalog import throughput: parse + validate, and the whole import, at several file sizes.

Run: .venv/bin/python bench/import_catalog.py [--sizes 1000 10000] [--json bench/results/import.json]
Uses the configured database (DATABASE_URL, else SQLite) in a throwaway merchant, which it deletes.
Prints a table and writes JSON. Not a test: nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import platform
import resource
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shop_copilot.settings")

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.core.files.uploadedfile import SimpleUploadedFile  # noqa: E402
from django.db import connection  # noqa: E402

from catalog import importing, services  # noqa: E402
from catalog.models import Merchant  # noqa: E402


def make_csv(rows: int) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["sku", "name", "category", "language", "brand", "colour", "material", "weight"])
    for i in range(rows):
        grams = 300 + i % 50
        if i % 5 == 0:
            writer.writerow(
                [f"ZH-{i:06d}", f"保温杯 {i} 号", "厨房", "zh", "禾香", "白色", "不锈钢", f"{grams}克"]
            )
        else:
            writer.writerow(
                [f"SKU-{i:06d}", f"Steel Bottle {i}", "sports", "en", "Hydra", "green", "steel", f"{grams} g"]
            )
    return out.getvalue().encode("utf-8-sig")


def measure(rows: int) -> dict[str, float | int | str]:
    data = make_csv(rows)
    start = time.perf_counter()
    parsed = importing.parse_catalog(data, "csv", max_rows=settings.COPILOT_IMPORT_MAX_ROWS)
    parse_s = time.perf_counter() - start
    assert not parsed.error_count, parsed.errors[:3]

    merchant = Merchant.objects.create(name="bench", slug=f"bench-{uuid.uuid4().hex[:8]}")
    try:
        job = services.import_job_create(
            merchant=merchant, upload=SimpleUploadedFile("bench.csv", data), enqueue=False
        )
        start = time.perf_counter()
        services.import_job_run(job_id=job.pk)
        first_s = time.perf_counter() - start
        again = services.import_job_create(
            merchant=merchant, upload=SimpleUploadedFile("bench.csv", data), enqueue=False
        )
        start = time.perf_counter()
        services.import_job_run(job_id=again.pk)
        reimport_s = time.perf_counter() - start
    finally:
        for job in merchant.import_jobs.all():
            job.file.delete(save=False)
        merchant.delete()
    return {
        "rows": rows,
        "parse_rows_per_s": round(rows / parse_s),
        "import_s": round(first_s, 2),
        "import_rows_per_s": round(rows / first_s),
        "reimport_s": round(reimport_s, 2),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--json", default="bench/results/import.json")
    args = parser.parse_args()
    results = [measure(n) for n in args.sizes]
    env = {
        "database": connection.vendor,
        "batch_size": settings.COPILOT_IMPORT_BATCH_SIZE,
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
    }
    header = ["rows", "parse_rows_per_s", "import_s", "import_rows_per_s", "reimport_s", "peak_rss_mb"]
    print(f"catalog import on {env['database']} (batch {env['batch_size']}, {env['cpus']} CPUs)")
    print(" | ".join(f"{h:>17}" for h in header))
    for row in results:
        print(" | ".join(f"{row[h]!s:>17}" for h in header))
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps({"environment": env, "results": results}, indent=2))
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
