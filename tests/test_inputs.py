"""Inputs that are hostile or odd: each is an input error naming its file (exit 2), never a
traceback, a hang or a silent skip, and the other inputs are still checked."""

from __future__ import annotations

import contextlib
import io
import json
import multiprocessing
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.test_cli import BAD_SERVICE
from webhook.commands import main
from webhook.documents import BLOCK

MEGABYTE = 1024 * 1024
GENEROUS = 60  # seconds: bounds a hang, never reached by a passing run


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, object], str]:
    code = main(["check", "--format", "json", *args])
    out, err = capsys.readouterr()
    return code, json.loads(out), err


def meshwarden(*args: str, **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "webhook", "check", *args],
        capture_output=True,
        text=True,
        timeout=GENEROUS,
        check=False,
        **kwargs,
    )


def test_a_number_too_long_to_read_is_an_error_for_its_document_only(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    huge = tmp_path / "a-huge.yaml"
    huge.write_text(
        BAD_SERVICE.replace("8080", "9" * 5000).replace("web", "huge")
        + "---\n"
        + BAD_SERVICE.replace("web", "after")
    )
    (tmp_path / "b-other.yaml").write_text(BAD_SERVICE)
    code, report, err = run_cli(capsys, str(tmp_path))
    assert code == 2
    assert report["errors"] == [
        {"file": str(huge), "line": 8, "message": "a number of 5,000 characters is too long to read"}
    ]
    assert [f["object"]["name"] for f in report["findings"]] == ["after", "web"]
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("!!int eighty", "'eighty' is not a valid int"),
        ("!!bool maybe", "'maybe' is not a valid bool"),
        ("!!float fast", "'fast' is not a valid float"),
        ("1:" + "2:" * 3000 + "3", "too long to read"),
    ],
)
def test_scalars_that_cannot_be_converted_are_errors(
    value: str, message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "svc.yaml"
    path.write_text(BAD_SERVICE.replace("8080", value))
    code, report, _ = run_cli(capsys, str(path))
    assert code == 2
    [error] = report["errors"]
    assert error["line"] == 8 and message in error["message"]


# --- permissions: root reads everything, so these run in a child without root's privileges ---


@pytest.fixture
def public_dir() -> Iterator[Path]:
    """A directory that an unprivileged user can enter (pytest's own tmp_path is private)."""
    path = Path(tempfile.mkdtemp(prefix="meshwarden-"))
    path.chmod(0o755)
    yield path
    for directory, _, _ in os.walk(path):
        os.chmod(directory, 0o755)
    shutil.rmtree(path)


def unprivileged(function: Callable[[], tuple[int, str, str]]) -> tuple[int, str, str]:
    """`function()` in a forked child that has dropped root's privileges (as nobody)."""
    context = multiprocessing.get_context("fork")
    receive, send = context.Pipe(duplex=False)

    def child() -> None:
        if os.geteuid() == 0:
            nobody = pwd.getpwnam("nobody")
            os.setgroups([])
            os.setgid(nobody.pw_gid)
            os.setuid(nobody.pw_uid)
        send.send(function())

    process = context.Process(target=child)
    process.start()
    try:
        assert receive.poll(GENEROUS), "the unprivileged check did not answer"
        return receive.recv()
    finally:
        process.join(GENEROUS)
        process.kill()


def check_in_process(*args: str) -> Callable[[], tuple[int, str, str]]:
    def run() -> tuple[int, str, str]:
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(["check", "--format", "json", *args])
        return code, out.getvalue(), err.getvalue()

    return run


def test_a_path_through_a_directory_that_cannot_be_searched_is_an_input_error(public_dir: Path) -> None:
    locked = public_dir / "locked"
    locked.mkdir()
    (locked / "svc.yaml").write_text(BAD_SERVICE)
    locked.chmod(0o600)  # readable, not searchable
    good = public_dir / "good.yaml"
    good.write_text(BAD_SERVICE.replace("web", "good"))
    good.chmod(0o644)
    code, out, err = unprivileged(check_in_process(str(locked / "svc.yaml"), str(good)))
    report = json.loads(out)
    assert code == 2, err
    assert report["errors"] == [
        {
            "file": str(locked / "svc.yaml"),
            "line": None,
            "message": "cannot be reached: permission denied (a directory on the way is not searchable)",
        }
    ]
    assert [f["object"]["name"] for f in report["findings"]] == ["good"]
    assert "Traceback" not in err


def test_an_unreadable_subdirectory_of_a_walk_is_an_input_error(public_dir: Path) -> None:
    (public_dir / "a.yaml").write_text(BAD_SERVICE)
    (public_dir / "a.yaml").chmod(0o644)
    secret = public_dir / "secret"
    secret.mkdir()
    (secret / "svc.yaml").write_text(BAD_SERVICE.replace("web", "hidden"))
    secret.chmod(0o311)  # searchable, not listable
    code, out, err = unprivileged(check_in_process(str(public_dir)))
    report = json.loads(out)
    assert code == 2, err
    assert report["errors"] == [
        {"file": str(secret), "line": None, "message": "cannot read the directory: permission denied"}
    ]
    assert [f["object"]["name"] for f in report["findings"]] == ["web"]


# --- devices, pipes and sizes ---


def test_devices_are_refused_without_reading_them() -> None:
    result = meshwarden("/dev/zero")
    assert result.returncode == 2
    assert result.stderr == "/dev/zero: a device, not a file: give files, directories or '-'\n"
    with open("/dev/zero", "rb") as zero:
        result = meshwarden("-", stdin=zero)
    assert result.returncode == 2
    assert "-: standard input is a device, not a file or a pipe" in result.stderr


@pytest.mark.parametrize("command", ["check", "fix"])
def test_standard_input_that_is_a_device_or_closed_is_an_input_error(command: str) -> None:
    for redirect, problem in [("</dev/zero", "a device, not a file or a pipe"), ("<&-", "closed")]:
        result = subprocess.run(
            ["sh", "-c", f'exec "$0" -m webhook {command} - {redirect}', sys.executable],
            capture_output=True,
            text=True,
            timeout=GENEROUS,
        )
        assert result.returncode == 2, result.stderr
        assert f"-: standard input is {problem}" in result.stderr


def test_a_named_pipe_that_nobody_writes_to_does_not_block(tmp_path: Path) -> None:
    fifo = tmp_path / "manifests.yaml"
    os.mkfifo(fifo)
    result = meshwarden(str(fifo))
    assert result.returncode == 2
    assert result.stderr == f"{fifo}: holds no Kubernetes object\n"
    walked = meshwarden(str(tmp_path))
    assert walked.returncode == 2
    assert f"{fifo}: not a regular file (a named pipe): not read" in walked.stderr


def test_process_substitution_and_standard_input_are_read() -> None:
    script = f"{sys.executable} -m webhook check --fail-on warn <(printf '%s' \"$SERVICE\")"
    result = subprocess.run(
        ["bash", "-c", script],
        env={**os.environ, "SERVICE": BAD_SERVICE},
        capture_output=True,
        text=True,
        timeout=GENEROUS,
        check=False,
    )
    assert result.returncode == 1, result.stderr
    assert result.stdout.startswith("/dev/fd/")
    assert ":8: warn MW201 [*] Service shop/web" in result.stdout
    piped = meshwarden("-", input="")
    assert (piped.returncode, piped.stderr) == (2, "-: standard input holds no Kubernetes object\n")


def test_each_input_is_read_up_to_a_size_limit(tmp_path: Path) -> None:
    endless = [sys.executable, "-c", "import sys\nwhile True: sys.stdout.write('a: b\\n' * 4096)"]
    with subprocess.Popen(endless, stdout=subprocess.PIPE) as writer:
        result = meshwarden("--max-input-size", "1MiB", "-", stdin=writer.stdout)
        writer.kill()
    assert result.returncode == 2
    assert result.stderr == (
        "-: larger than the --max-input-size limit of 1 MiB: not read "
        "(raise the limit if this input is what you meant)\n"
    )
    big = tmp_path / "big.yaml"
    big.write_text(BAD_SERVICE + "# padding\n" * 200_000)
    assert meshwarden("--max-input-size", "1MiB", str(big)).returncode == 2
    assert meshwarden("--max-input-size", "4MiB", "--fail-on", "never", str(big)).returncode == 0
    assert "is not a size" in meshwarden("--max-input-size", "lots", str(big)).stderr


# --- memory ---


MEASURE = """
import json, sys, tracemalloc
from webhook.inputs import read_inputs
from webhook.loader import LoadOptions
from webhook.server.inventory import load_context

path, warm_up, world = sys.argv[1], sys.argv[2], sys.argv[3] == "world"
def read(path):
    return load_context([path]) if world else read_inputs([path], LoadOptions()).resources

# Reading interns short values. The interpreter's table of interned strings grows in steps, and a
# step holds the old table (hundreds of KB) and the new one at once: it would land in the measured
# read or not, by what the interpreter had interned before. Interning new strings, kept, until the
# table grows leaves it room for as many again.
def grow_interned_strings():
    kept = [None] * 1_000_000  # filled in place: a growing list would grow in steps too
    for index in range(len(kept)):
        used, _ = tracemalloc.get_traced_memory()
        kept[index] = sys.intern(f"grown-{index}")
        if tracemalloc.get_traced_memory()[0] - used > 64 * 1024:
            return kept
    raise AssertionError("the table of interned strings never grew")

read(warm_up)  # what a first read allocates once is not counted
tracemalloc.start()
interned = grow_interned_strings()
before, _ = tracemalloc.get_traced_memory()
resources = read(path)
after, peak = tracemalloc.get_traced_memory()
print(json.dumps({"kept": after - before, "peak": peak - before, "objects": len(resources),
                  "first": resources[0].body}))
"""


IN_FLIGHT = 8 * BLOCK
"""What reading holds besides what it keeps: input is read in blocks, and a block is in memory a
few times at once (the bytes, their decoded text, the pieces cut from it at line and document
ends, the previous piece still being split), with the document being parsed; never the whole
text."""


def measure_read(path: Path, sample: str, *, world: bool = False) -> dict[str, Any]:
    """Reads `path` in a fresh interpreter: bytes that stay allocated, the peak, what was read."""
    warm_up = path.with_name("warm-up.yaml")
    warm_up.write_text(sample)
    result = subprocess.run(
        [sys.executable, "-c", MEASURE, str(path), str(warm_up), "world" if world else "reported"],
        capture_output=True,
        text=True,
        timeout=GENEROUS,
        check=True,
    )
    return json.loads(result.stdout)


def test_small_objects_cost_a_bounded_number_of_bytes_each(tmp_path: Path) -> None:
    path = tmp_path / "services.yaml"
    count = 5000
    path.write_text(
        "".join(
            BAD_SERVICE.replace("name: web", f"name: svc-{i:05d}\n  labels: {{app: svc-{i:05d}}}") + "---\n"
            for i in range(count)
        )
    )
    read = measure_read(path, BAD_SERVICE)
    assert read["objects"] == count
    assert read["kept"] / count < 2500  # with a dictionary of lines per object: about 4,900
    assert read["peak"] - read["kept"] < IN_FLIGHT  # one document at a time, never the whole text


def test_a_cluster_dump_is_kept_as_slim_as_the_live_inventory_keeps_it(tmp_path: Path) -> None:
    pod = """\
apiVersion: v1
kind: Pod
metadata:
  name: web-{i}
  namespace: shop
  labels: {{app: web, version: v1}}
  annotations:
    kubectl.kubernetes.io/last-applied-configuration: '{{"apiVersion":"v1","kind":"Pod",\
"metadata":{{"name":"web-{i}","namespace":"shop","labels":{{"app":"web","version":"v1"}}}},\
"spec":{{"containers":[{{"name":"web","image":"web:1"}}]}}}}'
  managedFields:
  - manager: kubectl
    operation: Update
    fieldsV1:
      f:metadata: {{f:labels: {{f:app: {{}}, f:version: {{}}}}}}
      f:spec: {{f:containers: {{'k:{{"name":"web"}}': {{f:image: {{}}, f:name: {{}}, f:resources: {{}}}}}}}}
spec:
  containers:
  - name: web
    image: web:1
    ports: [{{containerPort: 8080, name: http}}]
    resources: {{limits: {{cpu: 500m, memory: 256Mi}}, requests: {{cpu: 100m, memory: 128Mi}}}}
status:
  phase: Running
  podIP: 10.0.0.1
---
"""
    path = tmp_path / "dump.yaml"
    count = 2000
    path.write_text("".join(pod.format(i=i) for i in range(count)))
    read = measure_read(path, pod.format(i="warm-up"), world=True)
    assert read["first"] == {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": "web-0",
            "namespace": "shop",
            "labels": {"app": "web", "version": "v1"},
            "annotations": {},
        },
        "spec": {"containers": [{"ports": [{"containerPort": 8080, "name": "http"}]}]},
    }
    assert read["kept"] / count < 2500  # about 1,900; the whole Pod as read would keep about 5,000
    assert read["peak"] - read["kept"] < IN_FLIGHT  # the dump is 2.4 MB


def test_a_long_list_is_read_in_linear_time(tmp_path: Path) -> None:
    path = tmp_path / "list.yaml"
    items = "".join(
        f"- apiVersion: v1\n  kind: ConfigMap\n  metadata: {{name: c{i}}}\n  data:\n    a: b\n"
        for i in range(30_000)
    )
    path.write_text("apiVersion: v1\nkind: List\nitems:\n" + items)
    result = meshwarden("--format", "json", str(path))  # quadratic, this would take hours
    assert result.returncode == 0
    assert json.loads(result.stdout)["summary"]["skippedKinds"] == {"ConfigMap": 30_000}
