"""Throughput of the synchronous eligibility API: requests of 1 row and of 100 rows, under gunicorn.

Uses the registry ``bench_check.py`` builds on PostgreSQL (``idsvc_bench_check``, 1,000,000 citizens;
run that first) and its applicant list. Serves ``wsgi:app`` with the README's production command
(gunicorn, 2 sync workers, production settings with secrets made for the run), registers a
``client_credentials`` client for the bench programme, and loads ``POST
/api/v1/eligibility/programmes/bench-check/checks`` with ``wrk`` (``bench/wrk/request.lua``): one body
of 1 row and one of 100 rows (rows of the labelled list: most with a number, some without), each for
``--duration`` seconds. Prints requests/s, rows/s, p50 and p99, and any answer that was not 200.

    .venv/bin/python bench/bench_check_api.py [--duration 15] [--connections 8]      # needs wrk (Debian: wrk)
"""

from __future__ import annotations

import argparse
import base64
import csv
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_check import OUT
from bench_check import PG_DB
from bench_check import PROGRAMME
from bench_oidc import BIN
from bench_oidc import WRK
from bench_oidc import Load
from bench_oidc import bench_env
from bench_oidc import gunicorn_argv
from bench_oidc import request
from bench_oidc import start
from bench_oidc import wrk
from sqlalchemy import make_url

PORT = 5085


def rows_of(applicants: Path, count: int) -> list[dict[str, str]]:
    with applicants.open(encoding="utf-8", newline="") as f:
        return [row for _, row in zip(range(count), csv.DictReader(f), strict=False)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pg-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    ap.add_argument("--duration", type=float, default=15)
    ap.add_argument("--connections", type=int, default=8)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--list", type=Path, default=OUT / "applicants-100000-5.csv")
    args = ap.parse_args()
    if not args.list.exists():
        raise SystemExit(f"{args.list} not found: run bench/bench_check.py first")
    if not Path(WRK).exists():
        raise SystemExit("needs wrk: apt-get install wrk")
    url = make_url(args.pg_url).set(database=PG_DB).render_as_string(False)
    with tempfile.TemporaryDirectory() as scratch:
        keys = Path(scratch) / "keys"
        env = {**bench_env(url, keys), "IDSVC_ISSUER": f"http://127.0.0.1:{PORT}"}
        env.pop("IDSVC_ENV")  # development mode: the issuer is plain http on the loopback
        subprocess.run([str(BIN / "idsvc"), "keys", "generate"], env=env, check=True, stdout=subprocess.DEVNULL)
        created = subprocess.run([str(BIN / "idsvc"), "clients", "create", "--name", "Bench programme",
                                  "--grant-type", "client_credentials", "--scope", "eligibility.lookup"],
                                 env=env, check=True, capture_output=True, text=True).stdout
        fields = {line.split()[0]: line.split()[1] for line in created.splitlines() if len(line.split()) > 1}
        client_id, secret = fields["client_id"], fields["client_secret"]
        subprocess.run([str(BIN / "idsvc"), "eligibility", "programmes", "grant", PROGRAMME, client_id],
                       env=env, check=True, stdout=subprocess.DEVNULL)
        server = start("idsvc", PORT, gunicorn_argv(args.workers, 1, PORT, "wsgi:app"), env,
                       Path(scratch) / "gunicorn.log")
        try:
            basic = "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()
            status, _, body = request(PORT, "POST", "/token", urlencode(
                {"grant_type": "client_credentials", "scope": "eligibility.lookup"}),
                {"Authorization": basic, "Content-Type": "application/x-www-form-urlencoded"})
            if status != 200:
                raise SystemExit(f"no token: {status} {body}")
            token = json.loads(body)["access_token"]
            headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
            path = f"/api/v1/eligibility/programmes/{PROGRAMME}/checks"
            rows = rows_of(args.list, 100)
            print(f"POST {path} on {args.workers} gunicorn workers, {args.connections} connections, "
                  f"{args.duration:g} s each, registry {PG_DB}")
            for size in (1, 100):
                payload = json.dumps({"rows": rows[:size]})
                status, _, answer = request(PORT, "POST", path, payload, headers)
                if status != 200:
                    raise SystemExit(f"{size} rows: {status} {answer}")
                load = Load(f"{size} row(s)", PORT, path, "POST", payload, headers)
                r = wrk(load, seconds=args.duration, connections=args.connections, threads=2)
                print(f"  {size:>3} row(s) a request: {r.rps:8.1f} requests/s  {r.rps * size:9.1f} rows/s  "
                      f"p50 {r.p50_ms:7.1f} ms  p99 {r.p99_ms:7.1f} ms  not 200: {r.bad}  "
                      f"socket errors: {r.socket_errors}")
        finally:
            server.stop()


if __name__ == "__main__":
    main()
