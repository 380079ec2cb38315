"""Web latency under load: server time (Server-Timing) and client-observed time of the merchant pages.

Run: .venv/bin/python bench/web.py [--clients 1,8,32] [--requests 200] [--seconds 60] [--products 500]
     [--workers N] [--database-url URL] [--keep-db] [--quick] [--json bench/results/web.json]

What it does, start to end:

* creates its own database (DATABASE_URL, else postgres://postgres@127.0.0.1:5432/bench_web; the
  default one is dropped and made again if a run left it behind, any other must not exist yet),
  runs `manage.py migrate`, and seeds it in a child process: one merchant with a user per client,
  --products products with 6-8 attributes each through catalog.services, and per product a waiting
  draft of each of the six copy fields (three revisions each, grounding with an unsupported claim,
  two alternatives) beside an accepted older draft of three fields, written with the ORM (no model);
* serves the app with gunicorn (--workers sync workers, default cores + 1, DJANGO_DEBUG off) on a free
  loopback port, and signs every client in through the login form;
* per operation and number of clients, from load processes separate from the server (a process per
  group of clients, a thread per client, stdlib http.client): a warm-up of --warmup requests per
  client, then --requests requests in all, split between the clients, or fewer if --seconds runs
  out first. The operations:
    catalog  GET /                                       the catalog's first page
    editor   GET /products/<id>/copy/                    each client walks the whole catalog
    save     POST /drafts/<id>/save/   (htmx)            text + version; each client edits its own
                                                         drafts and carries the version the answer
                                                         returns; 409 = a version conflict
    accept   POST /drafts/<id>/decide/ (htmx)            action=accept + version; every request
                                                         consumes a different waiting draft
  Errors are answers other than 2xx/3xx (409 conflicts included) and refused accepts; percentiles
  are of the requests that succeeded. Server time is Server-Timing's `app` (Django from the top of
  the middleware down, without gunicorn's queue); client time is request sent to body read.
* prints a table, writes JSON, and stops gunicorn and drops the database (also on Ctrl-C) unless
  --keep-db. Queries per request are counted once per operation with Django's test client.

Not a test: nothing here asserts a time. The load generator shares the machine's cores with the
server, so client numbers at high concurrency include its own CPU time; server numbers do not.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import http.client
import importlib.metadata
import itertools
import json
import math
import multiprocessing
import os
import platform
import queue
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import zlib
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
ROOT = Path(__file__).resolve().parent.parent

OPERATIONS = ("catalog", "editor", "save", "accept")
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/bench_web"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/14"
PASSWORD = "bench-web-correct-horse-battery"  # noqa: S105 - a throwaway database's users
SAVE_DRAFTS_PER_CLIENT = 2
ACCEPT_FIELDS = ("title", "bullets", "tags", "ad_copy", "seo_meta")  # "description" is for saves
SERVER_TIMING = re.compile(r"(?:^|,)\s*app;dur=([0-9.]+)")
VERSION_INPUT = re.compile(r"<input\b[^>]*\bname=\"version\"[^>]*>")
VALUE_ATTRIBUTE = re.compile(r"\bvalue=\"(\d+)\"")
ERROR_LEVEL = 40  # django.contrib.messages.ERROR


def cpu_count() -> int:
    with contextlib.suppress(AttributeError):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


# --- HTTP client ------------------------------------------------------------------------------


@dataclass
class Answer:
    status: int
    headers: http.client.HTTPMessage
    body: str
    client_ms: float

    @property
    def server_ms(self) -> float | None:
        match = SERVER_TIMING.search(self.headers.get("Server-Timing", ""))
        return float(match.group(1)) if match else None


class Browser:
    """A signed-in merchant: cookies and a CSRF token over one keep-alive connection when allowed."""

    def __init__(self, host: str, port: int, cookies: dict[str, str] | None = None) -> None:
        self.host, self.port = host, port
        self.cookies: dict[str, str] = dict(cookies or {})
        self.connection = http.client.HTTPConnection(host, port, timeout=120)
        self.last_messages: list[tuple[int, str]] = []

    @property
    def csrf_token(self) -> str:
        return self.cookies.get("csrftoken", "")

    def close(self) -> None:
        self.connection.close()

    def request(
        self, method: str, path: str, fields: dict[str, str] | None = None, *, htmx: bool = False
    ) -> Answer:
        headers = {"Host": f"{self.host}:{self.port}", "User-Agent": "shop-copilot-bench"}
        body = None
        if fields is not None:
            body = urllib.parse.urlencode({**fields, "csrfmiddlewaretoken": self.csrf_token})
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            headers["X-CSRFToken"] = self.csrf_token
        if htmx:
            headers["HX-Request"] = "true"
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        start = time.perf_counter()
        try:
            self.connection.request(method, path, body=body, headers=headers)
            response = self.connection.getresponse()
            data = response.read()
        except (http.client.HTTPException, OSError):
            self.connection.close()  # the next request opens a fresh connection
            raise
        elapsed = (time.perf_counter() - start) * 1000
        if response.will_close:
            self.connection.close()
        self._keep_cookies(response.headers.get_all("Set-Cookie") or [])
        return Answer(response.status, response.headers, data.decode("utf-8", "replace"), elapsed)

    def _keep_cookies(self, lines: list[str]) -> None:
        self.last_messages = []
        for line in lines:
            jar = SimpleCookie()
            jar.load(line)
            for name, morsel in jar.items():
                if morsel["max-age"] == "0" or morsel["expires"].endswith("1970 00:00:00 GMT"):
                    self.cookies.pop(name, None)
                elif name == "messages":
                    # A browser would follow the redirect and show (so consume) the messages; the
                    # bench reads them instead and never sends them back.
                    self.last_messages = flash_messages(morsel.value)
                else:
                    self.cookies[name] = morsel.value


def flash_messages(value: str) -> list[tuple[int, str]]:
    """(level, text) of django.contrib.messages' cookie: signed, not encrypted, maybe compressed."""
    try:
        payload = value.strip('"').split(":", 1)[0]  # payload:timestamp:signature
        compressed = payload.startswith(".")
        payload = payload.lstrip(".")
        raw = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
        data = json.loads(zlib.decompress(raw) if compressed else raw)
    except (ValueError, zlib.error):
        return []
    found: list[tuple[int, str]] = []
    stack = [data]
    while stack:
        item = stack.pop()
        if isinstance(item, list) and len(item) >= 4 and item[0] == "__json_message":
            found.append((int(item[2]), str(item[3])))
        elif isinstance(item, list | dict):
            stack.extend(item.values() if isinstance(item, dict) else item)
    return found


def sign_in(host: str, port: int, username: str) -> dict[str, str]:
    browser = Browser(host, port)
    try:
        page = browser.request("GET", "/login/")
        if page.status != 200 or not browser.csrf_token:
            raise RuntimeError(f"GET /login/ answered {page.status} without a CSRF cookie")
        answer = browser.request("POST", "/login/", {"username": username, "password": PASSWORD, "next": ""})
        if answer.status != 302 or "sessionid" not in browser.cookies:
            raise RuntimeError(f"signing in as {username} answered {answer.status}, not a redirect")
        return browser.cookies
    finally:
        browser.close()


def version_after(body: str, draft_id: int) -> int | None:
    """The draft's version in a card or page: the first version input after the draft's URLs."""
    start = body.find(f"/drafts/{draft_id}/")
    tag = VERSION_INPUT.search(body, start) if start >= 0 else None
    value = VALUE_ATTRIBUTE.search(tag.group(0)) if tag else None
    return int(value.group(1)) if value else None


# --- Load processes ---------------------------------------------------------------------------


@dataclass
class Sample:
    status: int  # 0: no answer (connection error)
    ok: bool
    client_ms: float
    server_ms: float | None
    note: str = ""


@dataclass
class ClientRun:
    """What one client measured. Crosses the process boundary as a plain dict (see as_dict)."""

    samples: list[Sample] = field(default_factory=list)
    first: float | None = None
    last: float | None = None
    save_drafts: list[list[int]] = field(default_factory=list)
    warmup_notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        # The load processes are spawned: a class pickled there would be __mp_main__.ClientRun.
        return {**self.__dict__, "samples": [tuple(s.__dict__.values()) for s in self.samples]}

    @classmethod
    def from_dict(cls, data: dict) -> ClientRun:
        return cls(**{**data, "samples": [Sample(*s) for s in data["samples"]]})


class Client:
    """One merchant clicking through one operation; keeps its own drafts and their versions."""

    def __init__(self, host: str, port: int, spec: dict) -> None:
        self.browser = Browser(host, port, spec["cookies"])
        self.index = spec["index"]
        self.products: list[int] = spec["products"]
        self.save_drafts: list[list[int]] = [list(d) for d in spec["save_drafts"]]
        self.accept_drafts: list[list[int]] = list(spec["accept_drafts"])
        self.counter = itertools.count()

    def run(self, operation: str) -> Sample:
        n = next(self.counter)
        try:
            if operation == "catalog":
                return self._expect(self.browser.request("GET", "/"), {200})
            if operation == "editor":
                product = self.products[(self.index * 7 + n) % len(self.products)]
                return self._expect(self.browser.request("GET", f"/products/{product}/copy/"), {200})
            if operation == "save":
                return self._save(n)
            if operation == "accept":
                return self._accept()
        except (http.client.HTTPException, OSError) as exc:
            return Sample(0, False, 0.0, None, f"{type(exc).__name__}: {exc}")
        raise ValueError(f"unknown operation {operation}")

    @staticmethod
    def _expect(answer: Answer, statuses: set[int], note: str = "") -> Sample:
        ok = answer.status in statuses
        note = note or ("" if ok else f"HTTP {answer.status}")
        return Sample(answer.status, ok, answer.client_ms, answer.server_ms, note)

    def _save(self, n: int) -> Sample:
        draft = self.save_drafts[n % len(self.save_drafts)]
        draft_id, product_id, version = draft
        text = f"Edited by bench client {self.index}, edit {n}: a calm, grounded description. " * 3
        answer = self.browser.request(
            "POST", f"/drafts/{draft_id}/save/", {"text": text.strip(), "version": str(version)}, htmx=True
        )
        if answer.status == 200:
            new = version_after(answer.body, draft_id)
            if new is None:
                return self._expect(answer, set(), "200 without the draft's version input")
            draft[2] = new
            return self._expect(answer, {200})
        if answer.status == 409:
            # Carry on from the version the server has now (the answer shows it, else the editor).
            current = version_after(answer.body, draft_id)
            if current is None:
                page = self.browser.request("GET", f"/products/{product_id}/copy/")
                current = version_after(page.body, draft_id)
            if current is not None:
                draft[2] = current
            return self._expect(answer, set(), "409 version conflict")
        return self._expect(answer, set())

    def _accept(self) -> Sample:
        if not self.accept_drafts:
            return Sample(0, False, 0.0, None, "no waiting draft left for this client")
        draft_id, version = self.accept_drafts.pop(0)
        answer = self.browser.request(
            "POST", f"/drafts/{draft_id}/decide/", {"action": "accept", "version": str(version)}, htmx=True
        )
        refused = [text for level, text in self.browser.last_messages if level >= ERROR_LEVEL]
        if refused:  # the editor before htmx answered a refused accept with a redirect and a message
            return self._expect(answer, set(), f"refused: {refused[0][:80]}")
        if answer.status == 409:
            return self._expect(answer, set(), "409 version conflict")
        return self._expect(answer, set(range(200, 400)))


def load_process(job: dict, results: multiprocessing.Queue, go: multiprocessing.Event, start_at) -> None:
    """A group of clients in one process, a thread each: warm up, report ready, wait, measure."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent cleans up and stops us
    operation, quota = job["operation"], job["quotas"]
    clients = [Client(job["host"], job["port"], spec) for spec in job["clients"]]
    runs = [ClientRun() for _ in clients]
    warmed = threading.Barrier(len(clients) + 1)

    def work(i: int) -> None:
        client, run = clients[i], runs[i]
        try:
            for _ in range(job["warmup"]):
                sample = client.run(operation)
                if not sample.ok:
                    run.warmup_notes.append(sample.note)
        except Exception as exc:  # a bug here must not leave the other clients waiting
            run.warmup_notes.append(f"{type(exc).__name__}: {exc}")
        warmed.wait()
        go.wait()
        deadline = start_at.value + job["seconds"]
        for _ in range(quota[i]):
            if time.monotonic() >= deadline:
                break
            begin = time.monotonic()
            try:
                sample = client.run(operation)
            except Exception as exc:
                sample = Sample(0, False, 0.0, None, f"{type(exc).__name__}: {exc}")
            run.samples.append(sample)
            run.first = run.first if run.first is not None else begin
            run.last = time.monotonic()
        run.save_drafts = client.save_drafts
        client.browser.close()

    threads = [threading.Thread(target=work, args=(i,), daemon=True) for i in range(len(clients))]
    for thread in threads:
        thread.start()
    warmed.wait()
    results.put(("ready", job["group"], None))
    for thread in threads:
        thread.join()
    done = [(spec["index"], run.as_dict()) for spec, run in zip(job["clients"], runs, strict=True)]
    results.put(("done", job["group"], done))


# --- Database, seeding, server ----------------------------------------------------------------


class Database:
    """The bench's own database: made at the start, dropped at the end."""

    def __init__(self, url: str) -> None:
        self.url = url
        parts = urllib.parse.urlsplit(url)
        self.scheme = parts.scheme
        if self.scheme.startswith("postgres") or self.scheme == "pgsql":
            self.engine = "postgresql"
            self.name = urllib.parse.unquote(parts.path.lstrip("/"))
            self.admin_url = urllib.parse.urlunsplit(parts._replace(scheme="postgresql", path="/postgres"))
        elif self.scheme == "sqlite":
            # As dj-database-url reads it: sqlite:////abs/file.db, or sqlite:///file.db from ROOT.
            self.engine = "sqlite"
            self.name = str(ROOT / parts.path[1:])
        else:
            raise SystemExit(f"--database-url: only postgres:// and sqlite:// are supported, not {url}")
        self.created = False

    def _admin(self):
        import psycopg

        return psycopg.connect(self.admin_url, autocommit=True)

    def create(self, *, replace: bool) -> None:
        if self.engine == "sqlite":
            path = Path(self.name)
            if path.exists():
                if not replace:
                    raise SystemExit(f"{path} exists; remove it or pass --replace-db")
                self._remove_sqlite(path)
            path.parent.mkdir(parents=True, exist_ok=True)
            self.created = True
            return
        from psycopg import sql

        with self._admin() as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [self.name]).fetchone()
            if exists:
                if not replace:
                    raise SystemExit(
                        f"Database {self.name} exists; the bench wants a fresh one. Drop it "
                        f"(dropdb {self.name}) or pass --replace-db."
                    )
                self._drop(conn)
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(self.name)))
        self.created = True

    def _drop(self, conn) -> None:
        from psycopg import sql

        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> "
            "pg_backend_pid()",
            [self.name],
        )
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(self.name)))

    @staticmethod
    def _remove_sqlite(path: Path) -> None:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)

    def drop(self) -> None:
        if not self.created:
            return
        if self.engine == "sqlite":
            self._remove_sqlite(Path(self.name))
        else:
            with self._admin() as conn:
                self._drop(conn)
        self.created = False

    def describe(self) -> str:
        if self.engine == "sqlite":
            import sqlite3

            return f"sqlite {sqlite3.sqlite_version}"
        with self._admin() as conn:
            return f"postgresql {conn.execute('SHOW server_version').fetchone()[0].split()[0]}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """gunicorn serving the app on loopback, in its own process group."""

    def __init__(self, env: dict[str, str], workers: int, log_path: Path) -> None:
        self.port = free_port()
        self.workers = workers
        self.log_path = log_path
        self.log = open(log_path, "wb")  # noqa: SIM115 - closed in stop()
        command = [
            sys.executable, "-m", "gunicorn", "shop_copilot.wsgi",
            "-b", f"127.0.0.1:{self.port}", "-w", str(workers), "--threads", "1",
            "--graceful-timeout", "10", "--log-level", "warning",
        ]  # fmt: skip
        self.process = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
            command, cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True
        )

    def wait_ready(self, timeout: float = 90.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.process.returncode}:\n{self.tail()}")
            with contextlib.suppress(OSError, http.client.HTTPException):
                browser = Browser("127.0.0.1", self.port)
                if browser.request("GET", "/healthz/").status == 200:
                    browser.close()
                    return
            time.sleep(0.3)
        raise RuntimeError(f"gunicorn did not answer /healthz/ in {timeout:.0f} s:\n{self.tail()}")

    def tail(self, chars: int = 4000) -> str:
        self.log.flush()
        return self.log_path.read_text(errors="replace")[-chars:]

    def stop(self) -> None:
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        self.log.close()


def run_child(command: list[str], env: dict[str, str], what: str) -> None:
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, check=False)  # noqa: S603
    if done.returncode != 0:
        raise RuntimeError(f"{what} failed ({done.returncode}):\n{(done.stdout + done.stderr)[-6000:]}")


# --- Seeding (in a child process with Django set up) ------------------------------------------

CATEGORIES = ["Bottles", "Backpacks", "Shoes", "Jackets", "Mugs", "Lamps", "Tents", "Headphones"]
NOUNS = {
    "Bottles": "Insulated Bottle",
    "Backpacks": "Daypack",
    "Shoes": "Trail Runner",
    "Jackets": "Rain Shell",
    "Mugs": "Camp Mug",
    "Lamps": "Desk Lamp",
    "Tents": "Two-Person Tent",
    "Headphones": "Wireless Headphones",
}
ATTRIBUTES = {
    "brand": ["Hydra", "Northpeak", "Acme", "Kestrel", "Lumo", "Fjellstad"],
    "colour": ["black", "forest green", "navy", "sand", "signal red", "white"],
    "material": ["stainless steel", "recycled polyester", "full-grain leather", "bamboo", "aluminium"],
    "weight": ["180 g", "320 g", "450 g", "1.2 kg", "2.4 kg"],
    "capacity": ["500 ml", "750 ml", "20 l", "28 l", "350 ml"],
    "size": ["S", "M", "L", "XL", "one size", "42 x 30 x 15 cm"],
    "care": ["hand wash", "machine wash at 30 °C", "wipe clean", "dishwasher safe"],
    "origin": ["Portugal", "Vietnam", "Germany", "Taiwan", "Japan"],
    "warranty": ["1 year", "2 years", "5 years", "lifetime"],
    "feature": ["water-resistant zip", "double-wall vacuum", "reflective trim", "USB-C charging"],
}
CLAIM = "Trusted by professional athletes worldwide."


def _copy_texts(name: str, category: str, attributes: list[tuple[str, str]]) -> dict[str, str]:
    values = dict(attributes)
    brand, colour = values.get("brand", "House"), values.get("colour", "classic")
    facts = ", ".join(f"{k} {v}" for k, v in attributes[2:5])
    return {
        "title": f"{brand} {name} in {colour}",
        "description": (
            f"The {brand} {name} is made for everyday use in {category.lower()}. {CLAIM} It comes "
            f"in {colour} with {facts}. "
            + " ".join(f"Its {k} is {v}, which keeps it simple to live with." for k, v in attributes[5:])
            + " Care is easy and it is built to last for years of daily use."
        ),
        "bullets": "\n".join(f"- {k.capitalize()}: {v}" for k, v in attributes),
        "tags": ", ".join([category.lower(), brand.lower(), colour, *(v for _, v in attributes[2:5])]),
        "ad_copy": f"{CLAIM} Meet the {brand} {name}: {facts}. Order today.",
        "seo_meta": f"Buy the {brand} {name} in {colour}: {facts}. Free returns within 30 days.",
    }


def _grounding(text: str, attributes: list[tuple[str, str]]) -> dict:
    used = [k for k, v in attributes if v.lower() in text.lower()]
    start = text.find(CLAIM)
    ungrounded = []
    if start >= 0:
        ungrounded.append(
            {
                "start": start,
                "end": start + len(CLAIM),
                "text": CLAIM,
                "reason": "The attributes say nothing about athletes.",
                "kind": "claim",
            }
        )
    return {
        "coverage": round(len(used) / max(len(attributes), 1), 2),
        "used": used,
        "unused": [k for k, _ in attributes if k not in used],
        "claims": len(ungrounded) + 1,
        "ungrounded": ungrounded,
    }


def seed(products: int, users: int, plan_path: Path) -> None:
    import random
    from datetime import timedelta

    import django

    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shop_copilot.settings")
    django.setup()

    from django.db import transaction
    from django.utils import timezone

    from catalog import services as catalog_services
    from catalog.models import User
    from generation.models import CopyField, Draft, DraftRevision, DraftStatus

    rng = random.Random(20240611)
    started = time.monotonic()
    has_kind = any(f.name == "kind" for f in DraftRevision._meta.get_fields())

    def revision(draft: Draft, version: int, text: str, kind: str, author: User | None) -> DraftRevision:
        extra = {"kind": kind} if has_kind else {}
        return DraftRevision(draft=draft, version=version, text=text, author=author, **extra)

    with transaction.atomic():
        account = catalog_services.merchant_create(
            name="Bench Outfitters", username="bench-0", password=PASSWORD, slug="bench-outfitters"
        )
        merchant, owner = account.merchant, account.user
        User.objects.bulk_create(
            User(username=f"bench-{i}", merchant=merchant, password=owner.password) for i in range(1, users)
        )
        catalog: list = []
        for i in range(products):
            category = CATEGORIES[i % len(CATEGORIES)]
            keys = [
                "brand",
                "colour",
                *rng.sample(sorted(set(ATTRIBUTES) - {"brand", "colour"}), rng.randint(4, 6)),
            ]
            attributes = [(k, rng.choice(ATTRIBUTES[k])) for k in keys]
            product = catalog_services.product_create(
                merchant=merchant,
                sku=f"BENCH-{i:05d}",
                name=f"{NOUNS[category]} {i}",
                category=category,
                language="en",
                attributes=attributes,
            )
            catalog.append((product, attributes))

        now = timezone.now()
        drafts: list[tuple[Draft, list[tuple[int, str, str, User | None]]]] = []
        for product, attributes in catalog:
            texts = _copy_texts(product.name, product.category, attributes)
            for copy_field in CopyField.values:
                final = texts[copy_field]
                common = {
                    "product": product,
                    "field": copy_field,
                    "language": "en",
                    "source_attributes": [list(pair) for pair in attributes],
                    "few_shot_count": 2,
                }
                if copy_field in ("title", "bullets", "description"):  # what is published now
                    old = final.replace(CLAIM, "").strip() + " (last season)"
                    accepted = Draft(
                        **common,
                        text=old,
                        status=DraftStatus.ACCEPTED,
                        version=2,
                        grounding=_grounding(old, attributes),
                        score=0.7,
                        decided_by=owner,
                        decided_at=now - timedelta(days=30),
                    )
                    drafts.append((accepted, [(1, old, "generated", None), (2, old, "edited", owner)]))
                grounding = _grounding(final, attributes)
                waiting = Draft(
                    **common,
                    text=final,
                    status=DraftStatus.PROPOSED,
                    version=3,
                    grounding=grounding,
                    has_ungrounded=bool(grounding["ungrounded"]),
                    score=0.62,
                    alternatives=[
                        {
                            "text": f"{final} (variant {n})",
                            "score": 0.5 - n / 10,
                            "grounding": grounding,
                            "violations": [],
                        }
                        for n in (1, 2)
                    ],
                )
                history = [
                    (1, f"{final} Generated first.", "generated", None),
                    (2, f"{final} Edited once.", "edited", owner),
                    (3, final, "edited", owner),
                ]
                drafts.append((waiting, history))
        Draft.objects.bulk_create([d for d, _ in drafts], batch_size=1000)
        DraftRevision.objects.bulk_create(
            [
                revision(d, v, text, kind, author)
                for d, history in drafts
                for v, text, kind, author in history
            ],
            batch_size=2000,
        )
    seconds = time.monotonic() - started

    waiting = {(d.product_id, d.field): d for d, _ in drafts if d.status == DraftStatus.PROPOSED}
    *pool, probe = [p for p, _ in catalog]
    plan = {
        "merchant": merchant.pk,
        "users": [f"bench-{i}" for i in range(users)],
        "products": [p.pk for p in pool],
        "save_drafts": [
            [waiting[(p.pk, "description")].pk, p.pk, waiting[(p.pk, "description")].version] for p in pool
        ],
        # Field by field, so neighbouring accepts are on different products.
        "accept_drafts": [
            [waiting[(p.pk, f)].pk, waiting[(p.pk, f)].version] for f in ACCEPT_FIELDS for p in pool
        ],
        "seed_seconds": round(seconds, 1),
        "rows": {
            "products": products,
            "attributes": sum(len(a) for _, a in catalog),
            "drafts": len(drafts),
            "revisions": sum(len(h) for _, h in drafts),
        },
        "queries": count_queries(owner, probe, waiting),
    }
    plan_path.write_text(json.dumps(plan))


def count_queries(user, product, waiting: dict) -> dict:
    """Queries of one request per operation (the second of two, so caches are warm)."""
    from django.db import connection
    from django.test import Client as DjangoClient
    from django.test.utils import CaptureQueriesContext

    client = DjangoClient(HTTP_HOST="127.0.0.1", raise_request_exception=False)
    client.force_login(user)
    save_draft = waiting[(product.pk, "description")]
    accepts = [waiting[(product.pk, f)] for f in ACCEPT_FIELDS[:2]]
    version = save_draft.version

    def measure(method: str, path: str, **data) -> dict:
        with CaptureQueriesContext(connection) as queries:
            response = getattr(client, method)(path, **data)
        return {"status": response.status_code, "queries": len(queries.captured_queries), "_body": response}

    counts = {}
    for name, path in (("catalog", "/"), ("editor", f"/products/{product.pk}/copy/")):
        measure("get", path)
        counts[name] = measure("get", path)
    for n in range(2):
        result = measure(
            "post",
            f"/drafts/{save_draft.pk}/save/",
            data={"text": f"Probe edit {n}.", "version": version},
            HTTP_HX_REQUEST="true",
        )
        version = version_after(result["_body"].content.decode(), save_draft.pk) or version + 1
        counts["save"] = result
    for draft in accepts:
        counts["accept"] = measure(
            "post",
            f"/drafts/{draft.pk}/decide/",
            data={"action": "accept", "version": draft.version},
            HTTP_HX_REQUEST="true",
        )
    return {k: {"status": v["status"], "queries": v["queries"]} for k, v in counts.items()}


# --- The bench --------------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    values = sorted(values)
    k = (len(values) - 1) * q
    low = math.floor(k)
    high = min(low + 1, len(values) - 1)
    return round(values[low] + (values[high] - values[low]) * (k - low), 1)


@dataclass
class Bench:
    args: argparse.Namespace
    port: int
    plan: dict
    cookies: list[dict[str, str]]
    accept_pool: list[list[int]] = field(default_factory=list)
    save_drafts: dict[int, list[list[int]]] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.accept_pool = list(self.plan["accept_drafts"])
        saves = self.plan["save_drafts"]
        for i in range(len(self.cookies)):
            mine = saves[i * SAVE_DRAFTS_PER_CLIENT : (i + 1) * SAVE_DRAFTS_PER_CLIENT]
            self.save_drafts[i] = [list(d) for d in mine] or [list(saves[i % len(saves)])]

    def probe(self, operation: str) -> str | None:
        """Why an operation cannot run (its endpoint is missing), or None."""
        if operation != "save":
            return None
        draft_id, _, version = self.save_drafts[0][0]
        browser = Browser("127.0.0.1", self.port, self.cookies[0])
        try:
            answer = browser.request(
                "POST",
                f"/drafts/{draft_id}/save/",
                {"text": "Probe edit.", "version": str(version)},
                htmx=True,
            )
        finally:
            browser.close()
        if answer.status in (404, 405):
            return (
                f"POST /drafts/{draft_id}/save/ answered {answer.status}: the save endpoint is not in "
                "generation/urls.py yet, so saves were not measured"
            )
        if answer.status == 200 and (new := version_after(answer.body, draft_id)) is not None:
            self.save_drafts[0][0][2] = new
        return None

    def run(self, operation: str, clients: int) -> dict:
        args = self.args
        quotas = [
            args.requests // clients + (1 if i < args.requests % clients else 0) for i in range(clients)
        ]
        specs = []
        for i in range(clients):
            accept: list[list[int]] = []
            if operation == "accept":
                need = args.warmup + quotas[i]
                accept, self.accept_pool = self.accept_pool[:need], self.accept_pool[need:]
            specs.append(
                {
                    "index": i,
                    "cookies": self.cookies[i],
                    "products": self.plan["products"],
                    "save_drafts": self.save_drafts[i],
                    "accept_drafts": accept,
                }
            )
        groups = max(1, min(clients, args.load_processes))
        context = multiprocessing.get_context("spawn")
        results, go, start_at = context.Queue(), context.Event(), context.Value("d", 0.0)
        processes = []
        for g in range(groups):
            mine = list(range(g, clients, groups))
            job = {
                "group": g,
                "host": "127.0.0.1",
                "port": self.port,
                "operation": operation,
                "warmup": args.warmup,
                "seconds": args.seconds,
                "clients": [specs[i] for i in mine],
                "quotas": [quotas[i] for i in mine],
            }
            process = context.Process(target=load_process, args=(job, results, go, start_at), daemon=True)
            process.start()
            processes.append(process)
        try:
            runs = self._collect(processes, results, go, start_at, groups)
        finally:
            for process in processes:
                process.join(timeout=5)
                if process.is_alive():
                    process.terminate()
        for index, run in runs:
            self.save_drafts[index] = run.save_drafts
        return self._row(operation, clients, [run for _, run in runs])

    def _collect(self, processes, results, go, start_at, groups: int) -> list[tuple[int, ClientRun]]:
        ready, done = 0, []
        timeout = 120 + self.args.warmup * 30
        while ready < groups:
            kind, _, _ = self._next(results, processes, timeout)
            ready += kind == "ready"
        start_at.value = time.monotonic()
        go.set()
        while len(done) < groups:
            kind, _, payload = self._next(results, processes, self.args.seconds + 180)
            if kind == "done":
                done.append(payload)
        return [(index, ClientRun.from_dict(run)) for group in done for index, run in group]

    @staticmethod
    def _next(results, processes, timeout: float):
        deadline = time.monotonic() + timeout
        while True:
            try:
                return results.get(timeout=1)
            except queue.Empty:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"load processes gave no answer in {timeout:.0f} s") from None
                if all(not p.is_alive() for p in processes) and results.empty():
                    codes = [p.exitcode for p in processes]
                    raise RuntimeError(f"load processes exited early (exit codes {codes})") from None

    @staticmethod
    def _row(operation: str, clients: int, runs: list[ClientRun]) -> dict:
        samples = [s for run in runs for s in run.samples]
        good = [s for s in samples if s.ok]
        server = [s.server_ms for s in good if s.server_ms is not None]
        client = [s.client_ms for s in good]
        firsts = [r.first for r in runs if r.first is not None]
        lasts = [r.last for r in runs if r.last is not None]
        wall = (max(lasts) - min(firsts)) if firsts else 0.0
        notes = Counter(s.note for s in samples if not s.ok)
        warmup = Counter(note for run in runs for note in run.warmup_notes)
        return {
            "operation": operation,
            "clients": clients,
            "requests": len(samples),
            "errors": len(samples) - len(good),
            "conflicts": sum(1 for s in samples if s.status == 409),
            "server_p50_ms": percentile(server, 0.50),
            "server_p95_ms": percentile(server, 0.95),
            "server_p99_ms": percentile(server, 0.99),
            "client_p50_ms": percentile(client, 0.50),
            "client_p95_ms": percentile(client, 0.95),
            "client_p99_ms": percentile(client, 0.99),
            "req_per_s": round(len(samples) / wall, 1) if wall > 0 else None,
            "seconds": round(wall, 2),
            "error_kinds": dict(notes.most_common(5)),
            "warmup_errors": dict(warmup.most_common(5)),
        }


COLUMNS = [
    ("operation", "operation", 9),
    ("clients", "clients", 7),
    ("requests", "requests", 8),
    ("errors", "errors", 6),
    ("server_p50_ms", "srv p50", 8),
    ("server_p95_ms", "srv p95", 8),
    ("server_p99_ms", "srv p99", 8),
    ("client_p50_ms", "cli p50", 8),
    ("client_p95_ms", "cli p95", 8),
    ("client_p99_ms", "cli p99", 8),
    ("req_per_s", "req/s", 7),
]


def print_table(rows: list[dict], skipped: dict[str, str]) -> None:
    print(" ".join(f"{title:>{width}}" for _, title, width in COLUMNS) + "   (ms)")
    for row in rows:
        cells = ("-" if row[key] is None else row[key] for key, _, _ in COLUMNS)
        print(" ".join(f"{cell!s:>{width}}" for cell, (_, _, width) in zip(cells, COLUMNS, strict=True)))
    for row in rows:
        if row["error_kinds"]:
            kinds = "; ".join(f"{n} x {k}" for k, n in row["error_kinds"].items())
            print(f"  errors in {row['operation']} x {row['clients']}: {kinds}")
    for operation, reason in skipped.items():
        print(f"  {operation}: skipped: {reason}")


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", default="1,8,32", help="concurrent clients per run, comma-separated")
    parser.add_argument(
        "--operations", default=",".join(OPERATIONS), help="a subset of " + ",".join(OPERATIONS)
    )
    parser.add_argument("--requests", type=int, default=200, help="requests per operation and client count")
    parser.add_argument(
        "--seconds", type=float, default=60.0, help="at most this long per operation and count"
    )
    parser.add_argument("--warmup", type=int, default=3, help="unmeasured requests per client first")
    parser.add_argument("--products", type=int, default=500)
    parser.add_argument(
        "--workers", type=int, default=cpu_count() + 1, help="gunicorn sync workers (the pages are CPU-bound)"
    )
    parser.add_argument("--load-processes", type=int, default=cpu_count(), help="processes sending load")
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL))
    parser.add_argument("--redis-url", default=os.environ.get("REDIS_URL", DEFAULT_REDIS_URL))
    parser.add_argument("--keep-db", action="store_true", help="leave the database for a look afterwards")
    parser.add_argument("--replace-db", action="store_true", help="drop the database first if it exists")
    parser.add_argument("--quick", action="store_true", help="a smoke run: few requests and products")
    parser.add_argument("--json", type=Path, default=None, help="default bench/results/web.json")
    args = parser.parse_args(argv)
    args.clients = sorted({int(c) for c in args.clients.split(",") if c.strip()})
    args.operations = [o.strip() for o in args.operations.split(",") if o.strip()]
    if unknown := set(args.operations) - set(OPERATIONS):
        parser.error(f"unknown operation(s) {', '.join(sorted(unknown))}")
    if not args.clients or min(args.clients) < 1:
        parser.error("--clients needs positive numbers")
    if args.quick:
        args.requests, args.seconds, args.warmup = min(args.requests, 40), min(args.seconds, 15), 1
        args.products = min(args.products, 100)
    if args.json is None:
        args.json = ROOT / "bench" / "results" / ("web-quick.json" if args.quick else "web.json")
    # Each accept uses up a waiting draft: seed enough (five per product) and two saves per client.
    accepts = sum(c * args.warmup + args.requests for c in args.clients) if "accept" in args.operations else 0
    needed = max(math.ceil(accepts / len(ACCEPT_FIELDS)), max(args.clients) * SAVE_DRAFTS_PER_CLIENT) + 1
    if args.products < needed:
        print(f"--products {args.products} is too few for the accepts and saves asked for; using {needed}")
        args.products = needed
    return args


def main(argv: list[str]) -> None:
    args = parse_args(argv)
    database = Database(args.database_url)
    replace = args.replace_db or args.database_url == DEFAULT_DATABASE_URL
    scratch = Path(tempfile.mkdtemp(prefix="bench-web-"))
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "shop_copilot.settings",
        "DJANGO_DEBUG": "0",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DATABASE_URL": args.database_url,
        "REDIS_URL": args.redis_url,
        "COPILOT_VAR_DIR": str(scratch / "var"),
        "COPILOT_MEDIA_ROOT": str(scratch / "media"),
        "OMP_WAIT_POLICY": "PASSIVE",
        "PYTHONUNBUFFERED": "1",
        "LOG_LEVEL": "WARNING",
    }
    server: Server | None = None

    def stop_on_term(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop_on_term)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # even when started in the background
    try:
        print(f"database {database.engine}:{database.name}, {args.products} products …", flush=True)
        database.create(replace=replace)
        run_child([sys.executable, "manage.py", "migrate", "--noinput"], env, "manage.py migrate")
        plan_path = scratch / "plan.json"
        users = max(args.clients)
        run_child(
            [sys.executable, __file__, "_seed", str(args.products), str(users), str(plan_path)],
            env,
            "seeding",
        )
        plan = json.loads(plan_path.read_text())
        print(f"seeded {plan['rows']} in {plan['seed_seconds']} s", flush=True)

        server = Server(env, args.workers, scratch / "gunicorn.log")
        server.wait_ready()
        start = time.monotonic()
        with ThreadPoolExecutor(max_workers=min(8, users)) as pool:
            cookies = list(pool.map(lambda u: sign_in("127.0.0.1", server.port, u), plan["users"]))
        print(
            f"gunicorn: {args.workers} workers on port {server.port}; {users} clients signed in "
            f"in {time.monotonic() - start:.1f} s",
            flush=True,
        )

        bench = Bench(args, server.port, plan, cookies)
        rows = []
        for operation in args.operations:
            if reason := bench.probe(operation):
                bench.skipped[operation] = reason
                print(f"{operation}: {reason}", flush=True)
                continue
            for clients in args.clients:
                row = bench.run(operation, clients)
                rows.append(row)
                print(
                    f"{operation} x {clients}: {row['requests']} requests, {row['errors']} errors, "
                    f"client p50 {row['client_p50_ms']} ms",
                    flush=True,
                )
        if not rows and bench.skipped:
            print("nothing was measured")

        environment = {
            "cpus": cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
            "django": importlib.metadata.version("django"),
            "gunicorn": importlib.metadata.version("gunicorn"),
            "database": database.describe(),
            "database_conn_max_age": int(os.environ.get("DATABASE_CONN_MAX_AGE") or 0),
            "gunicorn_workers": args.workers,
            "gunicorn_threads": 1,
            "load_processes": args.load_processes,
        }
        options = {
            k: getattr(args, k)
            for k in ("clients", "operations", "requests", "seconds", "warmup", "products", "quick")
        }
        print(
            f"\nWeb latency on {environment['database']}, gunicorn {args.workers} sync workers, "
            f"{environment['cpus']} CPUs, {args.products} products"
        )
        print_table(rows, bench.skipped)
        queries = plan["queries"]
        print(
            "queries per request: "
            + ", ".join(f"{op} {q['queries']} (HTTP {q['status']})" for op, q in queries.items())
        )
        report = {
            "environment": environment,
            "options": options,
            "seed": {"rows": plan["rows"], "seconds": plan["seed_seconds"]},
            "queries_per_request": queries,
            "skipped": bench.skipped,
            "results": rows,
        }
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
        print(f"wrote {args.json}")
    except KeyboardInterrupt:
        print("\ninterrupted; cleaning up", file=sys.stderr)
        raise SystemExit(130) from None
    finally:
        # A second Ctrl-C must not leave gunicorn or the database behind.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        cleanup(server, database, args, scratch)


def cleanup(server: Server | None, database: Database, args: argparse.Namespace, scratch: Path) -> None:
    steps = [("stopping gunicorn", server.stop if server is not None else None)]
    if args.keep_db:
        print(f"kept database {args.database_url}")
    else:
        steps.append(("dropping the database", database.drop))
    if args.redis_url == DEFAULT_REDIS_URL:
        steps.append(("emptying the bench's Redis database", lambda: flush_redis(args.redis_url)))
    for what, step in steps:
        if step is None:
            continue
        try:
            step()
        except Exception as exc:
            print(f"{what} failed: {exc}", file=sys.stderr)
    shutil.rmtree(scratch, ignore_errors=True)


def flush_redis(url: str) -> None:
    """Empty the bench's own Redis database (the web app may have queued a task there)."""
    with contextlib.suppress(Exception):
        import redis

        client = redis.Redis.from_url(url)
        client.flushdb()
        client.close()


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "_seed":
        seed(int(sys.argv[2]), int(sys.argv[3]), Path(sys.argv[4]))
    else:
        main(sys.argv[1:])
