"""The eligibility worker (``idsvc eligibility worker``): checks the uploaded lists (batches).

A loop over the database-backed queue of :mod:`idsvc.eligibility.batches`: claim a chunk to
resolve, or else a batch to decide, or else sleep a little. Any number of workers may run, on any
machines sharing the database; each claim is a lease, so a worker that is killed loses nothing:
once its lease expires, another worker (or itself, restarted) takes the work over. ``SIGTERM`` and
``SIGINT`` stop it after the step in hand.
"""

from __future__ import annotations

import logging
import os
import secrets
import signal
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field
from types import FrameType

from flask import current_app

from idsvc import db
from idsvc.eligibility import batches

log = logging.getLogger(__name__)


def worker_name() -> str:
    """``host:pid:random``: unique among the workers of all machines, also after a restart."""
    return f"{socket.gethostname()[:60]}:{os.getpid()}:{secrets.token_hex(4)}"


@dataclass
class Worker:
    """One worker; :meth:`run` is its loop."""

    name: str = field(default_factory=worker_name)
    lease_seconds: float = 300.0
    poll_seconds: float = 2.0
    stopping: bool = False
    #: Steps done: chunks resolved, batches decided.
    chunks: int = 0
    decided: int = 0

    @classmethod
    def of_app(cls) -> Worker:
        config = current_app.config
        return cls(lease_seconds=float(config["ELIGIBILITY_LEASE_SECONDS"]),
                   poll_seconds=float(config["ELIGIBILITY_WORKER_POLL_SECONDS"]))

    def step(self) -> bool:
        """Do one piece of work (resolve a chunk, or decide a batch); False when there was none."""
        db.session().expire_all()  # a long-lived worker reads the programmes as they are now
        claim = batches.claim_chunk(self.name, lease_seconds=self.lease_seconds)
        if claim is not None:
            try:
                kept = batches.resolve_chunk(claim, self.name)
            except Exception:
                log.exception("resolving chunk %s of batch %s failed", claim.number, claim.batch_id)
                batches.chunk_failed(claim, self.name)
                return True
            if kept:
                self.chunks += 1
            else:
                log.warning("chunk %s of batch %s was taken over by another worker", claim.number, claim.batch_id)
            return True
        batch_id = batches.claim_decision(self.name, lease_seconds=self.lease_seconds)
        if batch_id is None:
            return False
        try:
            kept = batches.decide_batch(batch_id, self.name)
        except Exception:
            log.exception("deciding batch %s failed", batch_id)
            batches.decision_failed(batch_id)
            return True
        if kept:
            self.decided += 1
            log.info("batch %s decided", batch_id)
        return True

    def run(self, *, once: bool = False, sleep: Callable[[float], None] = time.sleep) -> None:
        """Work until stopped; ``once``: until there is nothing left to do."""
        log.info("eligibility worker %s started", self.name)
        while not self.stopping:
            try:
                worked = self.step()
            except Exception:  # the database away (a restart, a lock held too long): try again later
                # (each step is a db.transaction(), rolled back already)
                log.exception("eligibility worker %s: a step failed; trying again", self.name)
                if once:
                    raise
                sleep(max(self.poll_seconds, 1.0))
                continue
            if worked:
                continue
            if once:
                break
            sleep(self.poll_seconds)
        log.info("eligibility worker %s stopped: %d chunks resolved, %d batches decided", self.name, self.chunks,
                 self.decided)

    def stop(self, _signum: int = 0, _frame: FrameType | None = None) -> None:
        self.stopping = True

    def stop_on_signals(self) -> None:
        """``SIGTERM``/``SIGINT``: finish the step in hand, then stop."""
        signal.signal(signal.SIGTERM, self.stop)
        signal.signal(signal.SIGINT, self.stop)
