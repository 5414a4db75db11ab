"""Requests to the Kubernetes API by resource path, answered as plain JSON dicts.

Every resource is addressed by its path, as client-go's dynamic and metadata clients do, so one
code path serves Namespaces, Services, Pods and the Istio kinds. The official client supplies the
configuration, authentication and connection pool; objects are decoded by orjson into plain dicts
rather than the client's generated model classes, which would cost memory and time per object.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import orjson
import urllib3
from kubernetes.client import ApiClient
from kubernetes.client.exceptions import ApiException

from webhook.cluster.resources import ApiResource
from webhook.model import Body, as_dict

JSON = "application/json"
# The metadata-only representation (what client-go's metadata client asks for): a list answers
# with PartialObjectMetadataList, a single object or a watch event with PartialObjectMetadata.
METADATA_LIST = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1"
METADATA_OBJECT = "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1"
APPLY_PATCH = "application/apply-patch+yaml"

Query = list[tuple[str, str]]
Timeout = float | tuple[float, float] | None


class ClusterError(Exception):
    """The cluster could not be read."""


class ApiError(ClusterError):
    """The API answered with an error Status."""

    def __init__(self, code: int, reason: str, message: str):
        super().__init__(f"{code} {reason}: {message}" if message else f"{code} {reason}")
        self.code = code
        self.reason = reason


class Gone(ApiError):
    """410: the resourceVersion or continue token is older than the API still remembers."""


class Unreachable(ClusterError):
    """No usable answer: connection refused or reset, timeout, TLS failure, a garbled stream."""


@dataclass(frozen=True, slots=True)
class Page:
    items: list[Body]
    resource_version: str
    continue_token: str | None
    remaining: int | None


@dataclass(frozen=True, slots=True)
class WatchEvent:
    type: str  # ADDED, MODIFIED, DELETED or BOOKMARK; ERROR events are raised as ApiError
    object: Body


class KubeApi:
    def __init__(self, client: ApiClient):
        self._client = client

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> KubeApi:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def list_page(
        self,
        resource: ApiResource,
        *,
        namespace: str | None = None,
        limit: int | None = None,
        continue_token: str | None = None,
        label_selector: str | None = None,
        timeout: Timeout = None,
    ) -> Page:
        query: Query = []
        if limit:
            query.append(("limit", str(limit)))
        if continue_token:
            query.append(("continue", continue_token))
        if label_selector:
            query.append(("labelSelector", label_selector))
        accept = METADATA_LIST if resource.metadata_only else JSON
        body = self._read(self._send(resource.collection_path(namespace), query, accept, timeout))
        meta = as_dict(body.get("metadata"))
        remaining = meta.get("remainingItemCount")
        return Page(
            items=[as_dict(item) for item in body.get("items") or []],
            resource_version=str(meta.get("resourceVersion") or ""),
            continue_token=str(meta.get("continue") or "") or None,
            remaining=remaining if isinstance(remaining, int) else None,
        )

    def pages(self, resource: ApiResource, *, page_size: int, timeout: Timeout = None) -> Iterator[Page]:
        """Every object of the resource, `page_size` at a time, all from one consistent snapshot."""
        continue_token = None
        while True:
            page = self.list_page(resource, limit=page_size, continue_token=continue_token, timeout=timeout)
            yield page
            continue_token = page.continue_token
            if continue_token is None:
                return

    def get(
        self, resource: ApiResource, namespace: str, name: str, *, timeout: Timeout = None
    ) -> Body | None:
        """The object, or None when it does not exist."""
        accept = METADATA_OBJECT if resource.metadata_only else JSON
        try:
            return self._read(self._send(resource.object_path(namespace, name), [], accept, timeout))
        except ApiError as error:
            if error.code == 404:
                return None
            raise

    def apply(
        self, resource: ApiResource, body: Body, *, field_manager: str, timeout: Timeout = None
    ) -> Body:
        """Server-side apply: creates the object or makes its fields those of `body`, taking over
        the fields another manager set (the object is ours)."""
        meta = as_dict(body.get("metadata"))
        path = resource.object_path(str(meta.get("namespace") or ""), str(meta["name"]))
        query: Query = [("fieldManager", field_manager), ("force", "true")]
        data = orjson.dumps(body)  # JSON is YAML: the apply patch's media type takes it
        response = self._send(path, query, JSON, timeout, method="PATCH", body=(APPLY_PATCH, data))
        return self._read(response)

    def delete(self, resource: ApiResource, namespace: str, name: str, *, timeout: Timeout = None) -> None:
        """Deletes the object; one already gone is no error."""
        try:
            self._read(self._send(resource.object_path(namespace, name), [], JSON, timeout, method="DELETE"))
        except ApiError as error:
            if error.code != 404:
                raise

    def watch(self, resource: ApiResource, resource_version: str, *, server_timeout: int) -> Watch:
        """Changes after `resource_version`; the API ends the stream after `server_timeout` seconds."""
        query: Query = [
            ("watch", "true"),
            ("resourceVersion", resource_version),
            ("allowWatchBookmarks", "true"),
            ("timeoutSeconds", str(server_timeout)),
        ]
        accept = METADATA_OBJECT if resource.metadata_only else JSON
        # Reads wait past the server's own timeout: a stream silent for longer is a dead connection.
        response = self._send(resource.collection_path(), query, accept, (10.0, server_timeout + 30.0))
        if response.status != 200:
            self._read(response)
        return Watch(response)

    def served_plurals(self, group: str, version: str, *, timeout: Timeout = None) -> set[str]:
        """The resources a served group version offers (discovery); empty when it is not served."""
        path = f"/apis/{group}/{version}" if group else f"/api/{version}"
        try:
            body = self._read(self._send(path, [], JSON, timeout))
        except ApiError as error:
            if error.code == 404:
                return set()
            raise
        return {str(as_dict(r).get("name")) for r in body.get("resources") or []}

    def _send(
        self,
        path: str,
        query: Query,
        accept: str,
        timeout: Timeout,
        *,
        method: str = "GET",
        body: tuple[str, bytes] | None = None,
    ) -> urllib3.BaseHTTPResponse:
        headers = {"Accept": accept}
        if body is not None:
            headers["Content-Type"] = body[0]
        request = self._client.param_serialize(
            method,
            path,
            query_params=query,
            header_params=headers,
            body=body[1] if body else None,
            auth_settings=["BearerToken"],
        )
        try:
            answer = self._client.call_api(*request, _request_timeout=timeout)
        except (urllib3.exceptions.HTTPError, OSError, ApiException) as error:
            # ApiException here is the client's wrapper around TLS failures (status 0)
            raise Unreachable(f"{type(error).__name__}: {error}") from error
        response: urllib3.BaseHTTPResponse = answer.response
        return response

    def _read(self, response: urllib3.BaseHTTPResponse) -> Body:
        try:
            data = response.data
        except (urllib3.exceptions.HTTPError, OSError) as error:
            raise Unreachable(f"{type(error).__name__}: {error}") from error
        if 200 <= response.status < 300:
            return _decode(data)
        raise _status_error(_decode(data) if data.startswith(b"{") else {}, response.status)


class Watch:
    """An open watch stream: iterate it for events."""

    def __init__(self, response: urllib3.BaseHTTPResponse):
        self._response = response

    def __iter__(self) -> Iterator[WatchEvent]:
        try:
            for line in _lines(self._response):
                event = _decode(line)
                kind, obj = str(event.get("type") or ""), as_dict(event.get("object"))
                if kind == "ERROR":
                    raise _status_error(obj, 500)
                yield WatchEvent(kind, obj)
        except (urllib3.exceptions.HTTPError, OSError) as error:
            raise Unreachable(f"watch stream broken: {type(error).__name__}: {error}") from error

    def interrupt(self) -> None:
        """Makes a read blocked in another thread return: the iteration ends with Unreachable."""
        with contextlib.suppress(ValueError, RuntimeError, OSError):  # already ended or released
            self._response.shutdown()

    def close(self) -> None:
        """Releases the connection; only from the thread that iterates."""
        self._response.close()


def _lines(response: urllib3.BaseHTTPResponse) -> Iterator[bytes]:
    pending = b""
    for chunk in response.stream(None):
        pending += chunk
        *complete, pending = pending.split(b"\n")
        yield from (line for line in complete if line.strip())
    if pending.strip():
        yield pending


def _decode(data: bytes) -> Body:
    try:
        with _cyclic_gc_paused():
            decoded: Any = orjson.loads(data)
    except orjson.JSONDecodeError as error:
        raise Unreachable(f"undecodable answer from the API: {error}") from error
    return as_dict(decoded)


@contextlib.contextmanager
def _cyclic_gc_paused() -> Iterator[None]:
    """Decoded JSON holds no reference cycles, yet a page of 500 pods is ~100,000 new objects: the
    cyclic collector would run dozens of times per page, each time walking the growing inventory
    (a page decodes 3x slower during a sync; bench/cluster_inventory.py). Reference counting
    frees whatever the page leaves behind."""
    paused = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if paused:
            gc.enable()


def _status_error(status: Body, http_status: int) -> ApiError:
    code = status.get("code")
    code = code if isinstance(code, int) else http_status
    error = Gone if code == 410 else ApiError
    return error(code, str(status.get("reason") or "Unknown"), str(status.get("message") or ""))
