"""A fake Kubernetes API server for the tests, following kube-apiserver's conventions on loopback.

What it serves, as kube-apiserver does:
- discovery: `/api`, `/api/v1`, `/apis`, `/apis/{group}`, `/apis/{group}/{version}` (the Istio
  groups in the versions the test chooses, the Gateway API's Gateway; an unserved version is a 404);
- lists at `/api/v1/{plural}`, `/api/v1/namespaces/{ns}/{plural}` and the `/apis/...` forms, with
  `resourceVersion` in the list metadata, `limit` and `continue` (every page from one snapshot;
  a token older than the last compaction is a 410 Expired Status), items of built-in kinds without
  `kind`/`apiVersion` (custom resources keep theirs);
- single objects at `.../{plural}/{name}` (404 NotFound Status when absent);
- watches (`watch=true`): chunked JSON lines of ADDED/MODIFIED/DELETED events after the given
  `resourceVersion`, BOOKMARK events when `allowWatchBookmarks` is set, an ERROR event carrying a
  410 Expired Status for a compacted `resourceVersion`, the stream ended after `timeoutSeconds`;
- the metadata-only representation: `Accept: application/json;as=PartialObjectMetadataList;
  g=meta.k8s.io;v=v1` for lists and `as=PartialObjectMetadata` for objects and watch events
  (406 NotAcceptable for the wrong one);
- server-side apply (`PATCH` as `application/apply-patch+yaml` with a `fieldManager`; over etcd's
  1.5 MiB request limit a 500 as etcd words it) and `DELETE`, and `labelSelector` (`k=v,...`) on lists;
- bearer-token authentication (401 Unauthorized Status otherwise);
- RBAC when given a ClusterRole's rules: a get, list, watch, patch or delete they do not allow is a 403
  Forbidden Status worded as kube-apiserver words it (discovery stays open to everyone).

And what the tests need to break it: `pause_events()` (changes stored, watch delivery held back),
`hold_lists()`, `bookmark()`, `compact()`, `drop_watches()` (connections cut mid-stream),
`down()`/`up()` (nothing listening), and `delay` (seconds before each non-watch answer).
"""

from __future__ import annotations

import base64
import bisect
import contextlib
import functools
import itertools
import socket
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import orjson

TOKEN = "fake-token"
REQUEST_LIMIT = 3 * 1024 * 1024 // 2  # etcd's default --max-request-bytes
USER = "system:serviceaccount:meshwarden:meshwarden"
ISTIO_VERSIONS = ("v1", "v1beta1", "v1alpha3")
META_GROUP_VERSIONS = ("meta.k8s.io/v1", "meta.k8s.io/v1beta1")
BUILTIN_GROUPS = frozenset({"", "apps", "batch", "networking.k8s.io"})
NO_RESOURCE = "the server could not find the requested resource"
CONTINUE_EXPIRED = (
    "The provided continue parameter is too old to display a consistent list result. "
    "You can start a new list without the continue parameter."
)

Body = dict[str, Any]


@dataclass(frozen=True)
class Kind:
    kind: str
    group: str
    plural: str
    versions: tuple[str, ...]
    namespaced: bool = True

    @property
    def builtin(self) -> bool:
        return self.group in BUILTIN_GROUPS

    @property
    def name(self) -> str:
        """`Kind.group` (`Gateway.gateway.networking.k8s.io`), or `Kind` in the core group."""
        return f"{self.kind}.{self.group}" if self.group else self.kind

    @property
    def resource(self) -> str:
        """As RBAC and `kubectl get` name it: `gateways.networking.istio.io`, `services`."""
        return f"{self.plural}.{self.group}" if self.group else self.plural


def kinds(istio_versions: tuple[str, ...]) -> list[Kind]:
    return [
        Kind("Namespace", "", "namespaces", ("v1",), namespaced=False),
        Kind("Service", "", "services", ("v1",)),
        Kind("Pod", "", "pods", ("v1",)),
        Kind("ReplicationController", "", "replicationcontrollers", ("v1",)),
        Kind("Deployment", "apps", "deployments", ("v1",)),
        Kind("StatefulSet", "apps", "statefulsets", ("v1",)),
        Kind("DaemonSet", "apps", "daemonsets", ("v1",)),
        Kind("ReplicaSet", "apps", "replicasets", ("v1",)),
        Kind("Job", "batch", "jobs", ("v1",)),
        Kind("CronJob", "batch", "cronjobs", ("v1",)),
        Kind("Ingress", "networking.k8s.io", "ingresses", ("v1",)),
        Kind("IngressClass", "networking.k8s.io", "ingressclasses", ("v1",), namespaced=False),
        *(
            Kind(kind, "networking.istio.io", plural, istio_versions)
            for kind, plural in (
                ("Gateway", "gateways"),
                ("VirtualService", "virtualservices"),
                ("DestinationRule", "destinationrules"),
                ("ServiceEntry", "serviceentries"),
            )
            if istio_versions
        ),
        *(
            [Kind("PeerAuthentication", "security.istio.io", "peerauthentications", ("v1", "v1beta1"))]
            if istio_versions
            else []
        ),
        Kind("Gateway", "gateway.networking.k8s.io", "gateways", ("v1", "v1beta1")),
        Kind("PolicyReport", "wgpolicyk8s.io", "policyreports", ("v1alpha2",)),
        Kind(
            "ClusterPolicyReport", "wgpolicyk8s.io", "clusterpolicyreports", ("v1alpha2",), namespaced=False
        ),
    ]


@dataclass(frozen=True)
class Event:
    rv: int
    kind: Kind
    type: str
    object: Body


@dataclass(frozen=True)
class Request:
    path: str
    query: dict[str, str]
    accept: str


@dataclass
class _State:
    """Everything behind the server's condition variable."""

    objects: dict[Kind, dict[tuple[str, str], Body]]
    history: list[Event] = field(default_factory=list)
    rv: int = 1000
    compacted: int = 0
    paused: bool = False
    bookmarks: int = 0
    drops: int = 0
    snapshots: dict[tuple[Kind, int], list[Body]] = field(default_factory=dict)
    watching: Counter[str] = field(default_factory=Counter)
    lists_held: int = 0


class FakeApi:
    def __init__(
        self,
        *,
        istio_versions: tuple[str, ...] = ISTIO_VERSIONS,
        role: Sequence[Mapping[str, Any]] | None = None,
    ):
        """`role`: the rules of the ClusterRole the test's user is bound to (None: cluster-admin)."""
        self.kinds = kinds(istio_versions)
        self.role = role
        # By `Kind.group`, and by bare kind name for the first kind of that name (Istio's Gateway).
        self._by_name: dict[str, Kind] = {}
        for k in self.kinds:
            self._by_name.setdefault(k.kind, k)
            self._by_name[k.name] = k
        self._state = _State(objects={k: {} for k in self.kinds})
        self._cond = threading.Condition()
        self.delay = 0.0
        self.requests: list[Request] = []
        self._uids = itertools.count(1)
        self._server: ThreadingHTTPServer | None = None
        self._connections: set[socket.socket] = set()
        self._closing = threading.Event()
        self._lists_open = threading.Event()
        self._lists_open.set()
        self.port = 0

    # --- lifecycle -------------------------------------------------------------------------------

    def start(self) -> FakeApi:
        self.up()
        return self

    def up(self) -> None:
        """Listens (again, on the same port after `down`)."""
        handler = type("Handler", (_Handler,), {"api": self})
        server = _Server(("127.0.0.1", self.port), handler)
        self.port = server.server_address[1]
        self._server = server
        self._closing.clear()
        threading.Thread(target=server.serve_forever, args=(0.05,), name="fakeapi", daemon=True).start()

    def down(self) -> None:
        """Stops listening and cuts every open connection: the API is unreachable."""
        server, self._server = self._server, None
        if server is None:
            return
        self._closing.set()
        server.shutdown()
        server.server_close()
        with self._cond:
            for connection in list(self._connections):
                with contextlib.suppress(OSError):
                    connection.shutdown(socket.SHUT_RDWR)
            self._cond.notify_all()

    def stop(self) -> None:
        self.down()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def write_kubeconfig(self, path: Path) -> Path:
        """A kubeconfig whose current context points nowhere: callers must name context `fake`."""
        path.write_text(
            "apiVersion: v1\nkind: Config\n"
            f"clusters:\n- name: fake\n  cluster: {{server: '{self.url}'}}\n"
            "- name: nowhere\n  cluster: {server: 'http://127.0.0.1:9'}\n"
            f"users:\n- name: tester\n  user: {{token: {TOKEN}}}\n"
            "contexts:\n- name: fake\n  context: {cluster: fake, user: tester}\n"
            "- name: other\n  context: {cluster: nowhere, user: tester}\n"
            "current-context: other\n"
        )
        return path

    # --- the cluster's objects -------------------------------------------------------------------

    def put(self, body: Body) -> Body:
        """Creates or replaces an object (ADDED or MODIFIED); returns it as stored."""
        group = body["apiVersion"].rpartition("/")[0]
        kind = self._by_name[f"{body['kind']}.{group}" if group else body["kind"]]
        stored: Body = orjson.loads(orjson.dumps(body))
        meta = stored.setdefault("metadata", {})
        if kind.namespaced:
            meta.setdefault("namespace", "default")
        key = (meta.get("namespace", ""), meta["name"])
        with self._cond:
            existing = self._state.objects[kind].get(key)
            meta["uid"] = existing["metadata"]["uid"] if existing else f"uid-{next(self._uids)}"
            meta.setdefault("creationTimestamp", "2024-05-01T10:00:00Z")
            meta["managedFields"] = [
                {"manager": "kubectl", "operation": "Update", "fieldsV1": {"f:metadata": {}}}
            ]
            self._record(kind, "MODIFIED" if existing else "ADDED", key, stored)
        return stored

    def delete(self, kind_name: str, namespace: str, name: str) -> None:
        """`kind_name`: `Kind.group`, or a bare kind name (`Gateway` is Istio's)."""
        kind = self._by_name[kind_name]
        key = (namespace if kind.namespaced else "", name)
        with self._cond:
            existing = self._state.objects[kind][key]
            self._record(kind, "DELETED", key, orjson.loads(orjson.dumps(existing)))

    def _record(self, kind: Kind, type_: str, key: tuple[str, str], obj: Body) -> None:
        state = self._state
        state.rv += 1
        obj["metadata"]["resourceVersion"] = str(state.rv)
        if type_ == "DELETED":
            del state.objects[kind][key]
        else:
            state.objects[kind][key] = obj
        state.history.append(Event(state.rv, kind, type_, obj))
        self._cond.notify_all()

    @property
    def resource_version(self) -> int:
        return self._state.rv

    @contextlib.contextmanager
    def pause_events(self) -> Iterator[None]:
        """Changes made inside are stored (lists and gets see them) but reach watches only after."""
        with self._cond:
            self._state.paused = True
        try:
            yield
        finally:
            with self._cond:
                self._state.paused = False
                self._cond.notify_all()

    @contextlib.contextmanager
    def hold_lists(self) -> Iterator[None]:
        """List requests made inside wait, unanswered, until it ends."""
        self._lists_open.clear()
        try:
            yield
        finally:
            self._lists_open.set()

    def lists_held(self) -> int:
        with self._cond:
            return self._state.lists_held

    def _wait_for_lists(self) -> None:
        with self._cond:
            self._state.lists_held += 1
        self._lists_open.wait()
        with self._cond:
            self._state.lists_held -= 1

    def bookmark(self) -> None:
        """Sends every open watch that allows bookmarks a BOOKMARK at the current resourceVersion."""
        with self._cond:
            self._state.bookmarks += 1
            self._cond.notify_all()

    def compact(self) -> None:
        """Forgets the history for new requests: a watch from an older resourceVersion, or a continue
        token from before, now gets 410 Expired. Watches already open go on, as in etcd."""
        with self._cond:
            state = self._state
            state.compacted = state.rv
            state.snapshots.clear()

    def drop_watches(self) -> None:
        """Cuts every open watch connection mid-stream, without the closing chunk."""
        with self._cond:
            self._state.drops += 1
            self._cond.notify_all()

    # --- serving ---------------------------------------------------------------------------------

    def discovery(self, parts: list[str]) -> Body | None:
        if parts == ["api"]:
            return {
                "kind": "APIVersions",
                "versions": ["v1"],
                "serverAddressByClientCIDRs": [
                    {"clientCIDR": "0.0.0.0/0", "serverAddress": f"127.0.0.1:{self.port}"}
                ],
            }
        if parts == ["apis"]:
            return {
                "kind": "APIGroupList",
                "apiVersion": "v1",
                "groups": [self._group(g) for g in self._groups()],
            }
        if len(parts) == 2 and parts[0] == "apis" and parts[1] in self._groups():
            return {"kind": "APIGroup", "apiVersion": "v1", **self._group(parts[1])}
        group, version = (
            ("", parts[1]) if parts[0] == "api" else (parts[1], parts[2] if len(parts) > 2 else "")
        )
        served = [k for k in self.kinds if k.group == group and version in k.versions]
        if not served or len(parts) != (2 if parts[0] == "api" else 3):
            return None
        return {
            "kind": "APIResourceList",
            "groupVersion": f"{group}/{version}" if group else version,
            "resources": [
                {
                    "name": k.plural,
                    "singularName": k.kind.lower(),
                    "namespaced": k.namespaced,
                    "kind": k.kind,
                    "verbs": ["create", "delete", "get", "list", "patch", "update", "watch"],
                }
                for k in served
            ],
        }

    def _groups(self) -> list[str]:
        return list(dict.fromkeys(k.group for k in self.kinds if k.group))

    def _group(self, group: str) -> Body:
        versions = list(dict.fromkeys(v for k in self.kinds if k.group == group for v in k.versions))
        entries = [{"groupVersion": f"{group}/{v}", "version": v} for v in versions]
        return {"name": group, "versions": entries, "preferredVersion": entries[0]}

    def route(self, parts: list[str]) -> tuple[Kind, str, str | None, str | None] | None:
        """(kind, version, namespace, name) for a resource path, or None."""
        if parts[0] == "api" and len(parts) >= 3:
            group, version, rest = "", parts[1], parts[2:]
        elif parts[0] == "apis" and len(parts) >= 4:
            group, version, rest = parts[1], parts[2], parts[3:]
        else:
            return None
        namespace = None
        if len(rest) >= 3 and rest[0] == "namespaces":
            namespace, rest = rest[1], rest[2:]
        plural, name = rest[0], (rest[1] if len(rest) == 2 else None)
        if len(rest) > 2:
            return None
        for kind in self.kinds:
            if kind.group == group and kind.plural == plural and version in kind.versions:
                if namespace is not None and not kind.namespaced:
                    return None
                return kind, version, namespace, name
        return None

    def list_page(self, kind: Kind, namespace: str | None, query: dict[str, str]) -> tuple[int, Body | None]:
        limit = int(query.get("limit") or 0)
        with self._cond:
            state = self._state
            if "continue" in query:
                token = orjson.loads(base64.urlsafe_b64decode(query["continue"]))
                if token["rv"] < state.compacted:
                    return 410, None
                snapshot_rv, start = token["rv"], token["start"]
            else:
                snapshot_rv, start = state.rv, 0
            snapshot = state.snapshots.get((kind, snapshot_rv))
            if snapshot is None:
                snapshot = [state.objects[kind][key] for key in sorted(state.objects[kind])]
                state.snapshots[(kind, snapshot_rv)] = snapshot
        labels = dict(term.split("=", 1) for term in query.get("labelSelector", "").split(",") if term)
        matching = [
            o
            for o in snapshot
            if (namespace is None or o["metadata"].get("namespace") == namespace)
            and labels.items() <= (o["metadata"].get("labels") or {}).items()
        ]
        end = start + limit if limit else len(matching)
        page = matching[start:end]
        meta: Body = {"resourceVersion": str(snapshot_rv)}
        if end < len(matching):
            meta["continue"] = base64.urlsafe_b64encode(
                orjson.dumps({"rv": snapshot_rv, "start": end})
            ).decode()
            meta["remainingItemCount"] = len(matching) - end
        return 200, {"metadata": meta, "items": page}

    def get(self, kind: Kind, namespace: str | None, name: str) -> Body | None:
        with self._cond:
            return self._state.objects[kind].get((namespace or "", name))

    def watch_events(self, kind: Kind, namespace: str | None, since: int, timeout: float) -> Iterator[Event]:
        """Events of `kind` after `since`, then new ones as they happen, until `timeout` seconds
        pass (the stream then ends normally) or the server goes down. Also yields BOOKMARK events
        (at the version delivered so far) and one DROP event when the connection must be cut."""
        deadline = time.monotonic() + timeout
        with self._cond:
            bookmarks, drops = self._state.bookmarks, self._state.drops
            self._state.watching[kind.resource] += 1
        try:
            yield from self._events_after(kind, namespace, since, bookmarks, drops, deadline)
        finally:
            with self._cond:
                self._state.watching[kind.resource] -= 1

    def watching(self, resource: str) -> int:
        """How many watches of `resource` (`services`, `gateways.networking.istio.io`) are open."""
        with self._cond:
            return self._state.watching[resource]

    def _events_after(
        self, kind: Kind, namespace: str | None, cursor: int, bookmarks: int, drops: int, deadline: float
    ) -> Iterator[Event]:
        while True:
            with self._cond:
                state = self._state
                due = functools.partial(self._due, cursor, bookmarks, drops)
                if (
                    not self._cond.wait_for(due, timeout=deadline - time.monotonic())
                    or self._closing.is_set()
                ):
                    return
                dropped = state.drops != drops
                pending = state.history[bisect.bisect_right(state.history, cursor, key=lambda e: e.rv) :]
                cursor, bookmark, bookmarks = state.rv, state.bookmarks != bookmarks, state.bookmarks
            if dropped:
                yield Event(cursor, kind, "DROP", {})
                return
            for event in pending:
                if event.kind == kind and namespace in (None, event.object["metadata"].get("namespace")):
                    yield event
            if bookmark:
                yield Event(cursor, kind, "BOOKMARK", {})

    def _due(self, cursor: int, bookmarks: int, drops: int) -> bool:
        state = self._state
        deliverable = not state.paused and (state.rv > cursor or state.bookmarks != bookmarks)
        return deliverable or state.drops != drops or self._closing.is_set()

    def too_old(self, rv: int) -> bool:
        with self._cond:
            return rv < self._state.compacted

    def allows(self, verb: str, kind: Kind) -> bool:
        return self.role is None or any(
            _matches(rule.get("verbs"), verb)
            and _matches(rule.get("apiGroups"), kind.group)
            and _matches(rule.get("resources"), kind.plural)
            for rule in self.role
        )


def _matches(allowed: Any, wanted: str) -> bool:
    return isinstance(allowed, list) and (wanted in allowed or "*" in allowed)


def forbidden(verb: str, kind: Kind, namespace: str | None) -> Body:
    """kube-apiserver's 403 (forbiddenMessage in k8s.io/apiserver's responsewriters)."""
    resource = f"{kind.plural}.{kind.group}" if kind.group else kind.plural
    scope = f'in the namespace "{namespace}"' if namespace else "at the cluster scope"
    message = (
        f'{resource} is forbidden: User "{USER}" cannot {verb} resource "{kind.plural}" '
        f'in API group "{kind.group}" {scope}'
    )
    return {**status(403, "Forbidden", message), "details": {"group": kind.group, "kind": kind.plural}}


def api_version(kind: Kind, version: str) -> str:
    return f"{kind.group}/{version}" if kind.group else version


def status(code: int, reason: str, message: str) -> Body:
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }


def metadata_only(obj: Body) -> Body:
    return {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": obj["metadata"]}


def representation(accept: str, *, list_request: bool) -> str | None:
    """ "full" or "metadata" as the Accept header asks; None when nothing it asks for can be served."""
    for clause in accept.split(","):
        media, *params = [p.strip() for p in clause.split(";")]
        options = dict(p.split("=", 1) for p in params if "=" in p)
        if media not in ("application/json", "*/*", "application/*"):
            continue
        if "as" not in options:
            return "full"
        wanted = "PartialObjectMetadataList" if list_request else "PartialObjectMetadata"
        if options["as"] == wanted and f"{options.get('g')}/{options.get('v')}" in META_GROUP_VERSIONS:
            return "metadata"
    return None


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], OSError):  # clients that hang up are part of the tests
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    api: FakeApi
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in separate writes: no delayed-ACK stall

    def setup(self) -> None:
        super().setup()
        with self.api._cond:
            self.api._connections.add(self.connection)

    def finish(self) -> None:
        with contextlib.suppress(OSError):
            super().finish()
        with self.api._cond:
            self.api._connections.discard(self.connection)

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(url.query).items()}
        accept = self.headers.get("Accept", "")
        self.api.requests.append(Request(url.path, query, accept))
        if self.headers.get("Authorization") != f"Bearer {TOKEN}":
            return self._json(401, status(401, "Unauthorized", "Unauthorized"))
        watch = query.get("watch") in ("true", "1")
        if not watch and self.api.delay:
            self.api._closing.wait(self.api.delay)
        parts = [p for p in url.path.split("/") if p]
        if not parts:
            return self._json(404, status(404, "NotFound", NO_RESOURCE))
        found = self.api.discovery(parts) if parts[0] in ("api", "apis") and len(parts) <= 3 else None
        if found is not None:
            return self._json(200, found)
        route = self.api.route(parts)
        if route is None:
            return self._json(404, status(404, "NotFound", NO_RESOURCE))
        kind, version, namespace, name = route
        verb = "watch" if watch else "get" if name is not None else "list"
        if not self.api.allows(verb, kind):
            return self._json(403, forbidden(verb, kind, namespace))
        shape = representation(accept, list_request=name is None and not watch)
        if shape is None:
            return self._json(406, status(406, "NotAcceptable", f"cannot serve the media types {accept!r}"))
        if watch:
            return self._watch(kind, version, namespace, query, shape)
        if name is not None:
            obj = self.api.get(kind, namespace, name)
            if obj is None:
                return self._json(404, status(404, "NotFound", f'{kind.plural} "{name}" not found'))
            return self._json(200, self._shape(obj, kind, version, shape))
        self.api._wait_for_lists()
        code, page = self.api.list_page(kind, namespace, query)
        if page is None:
            return self._json(code, status(code, "Expired", CONTINUE_EXPIRED))
        items = [self._shape(o, kind, version, shape, in_list=True) for o in page["items"]]
        if shape == "metadata":
            kind_fields = {"kind": "PartialObjectMetadataList", "apiVersion": "meta.k8s.io/v1"}
        else:
            kind_fields = {"kind": f"{kind.kind}List", "apiVersion": api_version(kind, version)}
        return self._json(200, {**kind_fields, "metadata": page["metadata"], "items": items})

    def do_PATCH(self) -> None:
        """Server-side apply (the only patch the tests send): creates or replaces the object."""
        data = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        route = self._write_route("patch")
        if route is None:
            return None
        kind, version, namespace, name = route
        if self.headers.get("Content-Type") != "application/apply-patch+yaml":
            return self._json(
                415, status(415, "UnsupportedMediaType", "the body of the request was in an unknown format")
            )
        if len(data) > REQUEST_LIMIT:
            return self._json(500, status(500, "InternalError", "etcdserver: request is too large"))
        if "fieldManager" not in parse_qs(urlsplit(self.path).query):
            return self._json(422, status(422, "Invalid", "fieldManager is required for apply requests"))
        body = orjson.loads(data)
        meta = body.get("metadata", {})
        if (body.get("apiVersion"), body.get("kind"), meta.get("name"), meta.get("namespace")) != (
            api_version(kind, version),
            kind.kind,
            name,
            namespace,
        ):
            return self._json(400, status(400, "BadRequest", "the object does not match the request's path"))
        created = self.api.get(kind, namespace, name) is None
        stored = self.api.put(body)
        return self._json(201 if created else 200, self._shape(stored, kind, version, "json"))

    def do_DELETE(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        route = self._write_route("delete")
        if route is None:
            return None
        kind, _, namespace, name = route
        if self.api.get(kind, namespace, name) is None:
            return self._json(404, status(404, "NotFound", f'{kind.plural} "{name}" not found'))
        self.api.delete(kind.kind, namespace or "", name)
        return self._json(200, {**status(200, "", ""), "status": "Success"})

    def _write_route(self, verb: str) -> tuple[Kind, str, str | None, str] | None:
        """The object a write addresses (its body read already), or None once the error is answered."""
        url = urlsplit(self.path)
        self.api.requests.append(Request(url.path, {k: v[-1] for k, v in parse_qs(url.query).items()}, verb))
        if self.headers.get("Authorization") != f"Bearer {TOKEN}":
            self._json(401, status(401, "Unauthorized", "Unauthorized"))
            return None
        route = self.api.route([p for p in url.path.split("/") if p])
        if route is None or route[3] is None:
            self._json(404, status(404, "NotFound", NO_RESOURCE))
            return None
        kind, version, namespace, name = route
        if not self.api.allows(verb, kind):
            self._json(403, forbidden(verb, kind, namespace))
            return None
        return kind, version, namespace, name

    def _shape(self, obj: Body, kind: Kind, version: str, shape: str, *, in_list: bool = False) -> Body:
        if shape == "metadata":
            return metadata_only(obj)
        body = dict(obj)
        if in_list and kind.builtin:
            body.pop("kind", None)
            body.pop("apiVersion", None)
        else:
            body["apiVersion"] = api_version(kind, version)
            body["kind"] = kind.kind
        return body

    def _watch(
        self, kind: Kind, version: str, namespace: str | None, query: dict[str, str], shape: str
    ) -> None:
        since = int(query.get("resourceVersion") or 0)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        if self.api.too_old(since):
            self._chunk(
                {
                    "type": "ERROR",
                    "object": status(
                        410, "Expired", f"too old resource version: {since} ({self.api._state.compacted})"
                    ),
                }
            )
            return self._end_chunks()
        bookmarks = query.get("allowWatchBookmarks") == "true"
        timeout = float(query.get("timeoutSeconds") or 1800)
        try:
            for event in self.api.watch_events(kind, namespace, since, timeout):
                if event.type == "DROP":
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                if event.type == "BOOKMARK":
                    if bookmarks:
                        marker = {
                            "kind": kind.kind,
                            "apiVersion": api_version(kind, version),
                            "metadata": {"resourceVersion": str(event.rv)},
                        }
                        self._chunk({"type": "BOOKMARK", "object": self._shape(marker, kind, version, shape)})
                    continue
                self._chunk({"type": event.type, "object": self._shape(event.object, kind, version, shape)})
            self._end_chunks()
        except OSError:
            self.close_connection = True

    def _chunk(self, event: Body) -> None:
        data = orjson.dumps(event) + b"\n"
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def _end_chunks(self) -> None:
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def _json(self, code: int, body: Body) -> None:
        data = orjson.dumps(body)
        try:
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except OSError:
            self.close_connection = True
