"""Memory of `meshwarden check` over one large generated file: peak resident set, bytes per object.

Run from the repository root:

    .venv/bin/python bench/input_memory.py [--objects 1000000] [--kind Service|ConfigMap|mixed]
        [--context] [--keep FILE]

Writes one multi-document YAML file of small objects (about 200 bytes each, as a generated
monorepo or a flattened `kubectl get -o yaml` would hold), runs `meshwarden check` on it in a
child process, and prints the child's peak resident set (getrusage), the peak of an empty run
(the interpreter and imports), and the difference per object. `--context` passes the file as
`--context` beside one small input instead: the inventory-only path.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

from measure import MEBI, run

SERVICE = """\
---
apiVersion: v1
kind: Service
metadata:
  name: svc-{i:07d}
  namespace: team-{ns:03d}
  labels: {{app: svc-{i:07d}, tier: backend}}
spec:
  selector: {{app: svc-{i:07d}}}
  ports:
  - name: http
    port: 8080
    targetPort: 8080
"""
CONFIGMAP = """\
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: cm-{i:07d}
  namespace: team-{ns:03d}
  labels: {{app: cm-{i:07d}, tier: backend}}
data:
  LOG_LEVEL: info
  FEATURE_FLAGS: "alpha,beta,gamma,delta"
"""
SMALL_INPUT = "apiVersion: v1\nkind: Namespace\nmetadata: {name: bench}\n"


def write_corpus(path: Path, objects: int, kind: str) -> int:
    templates = {"Service": [SERVICE], "ConfigMap": [CONFIGMAP], "mixed": [SERVICE, CONFIGMAP]}[kind]
    with path.open("w", encoding="utf-8") as out:
        for i in range(objects):
            out.write(templates[i % len(templates)].format(i=i, ns=i % 200))
    return path.stat().st_size


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--objects", type=int, default=1_000_000)
    parser.add_argument("--kind", choices=("Service", "ConfigMap", "mixed"), default="mixed")
    parser.add_argument("--context", action="store_true", help="read the corpus as --context")
    parser.add_argument("--keep", metavar="FILE", help="write the corpus here and keep it")
    args = parser.parse_args()
    meshwarden = str(Path(sys.executable).with_name("meshwarden"))
    with tempfile.TemporaryDirectory() as tmp:
        corpus = Path(args.keep or os.path.join(tmp, "corpus.yaml"))
        small = Path(tmp, "small.yaml")
        small.write_text(SMALL_INPUT, encoding="utf-8")
        size = write_corpus(corpus, args.objects, args.kind)
        base = run([meshwarden, "check", "--fail-on", "never", str(small)]).peak_bytes
        target = ["--context", str(corpus), str(small)] if args.context else [str(corpus)]
        result = run([meshwarden, "check", "--max-input-size", "1GiB", "--fail-on", "never", *target])
    print(
        f"{args.objects:,} {args.kind} objects{' as --context' if args.context else ''}, "
        f"{size / MEBI:,.0f} MiB of YAML: peak RSS {result.peak_mib:,.0f} MiB "
        f"(empty run {base / MEBI:,.0f} MiB), "
        f"{(result.peak_bytes - base) / args.objects:,.0f} bytes per object, "
        f"{result.seconds:,.1f} s, exit {result.status}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
