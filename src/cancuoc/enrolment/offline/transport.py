"""How a station reaches the server: plain HTTP in the field, Django's test client in tests.

The push and pull code only ever calls ``Transport.request``; a transport that raises
``TransportError`` is a network failure (nothing is known about the server side) and the
caller simply tries again later.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import Any, Protocol

API_PREFIX = "/api/v1/enrolment"


class TransportError(Exception):
    """The request may or may not have reached the server; retrying is safe."""


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)

    def json(self) -> Any:
        return json.loads(self.body.decode("utf-8")) if self.body else None

    def detail(self) -> str:
        """The server's error message, or the raw start of the body."""
        try:
            data = self.json()
        except ValueError:
            return self.body[:200].decode("utf-8", "replace")
        if isinstance(data, dict) and "detail" in data:
            return str(data["detail"])
        return str(data)[:200]


class Transport(Protocol):
    def request(
        self,
        method: str,
        path: str,
        *,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> Response:
        """Send one request to ``path`` (below the enrolment API, e.g. "/blobs/ab…")."""
        ...


class HttpTransport:
    """urllib against ``base_url`` (the server's root, e.g. https://cancuoc.example.vn)."""

    def __init__(self, *, base_url: str, token: str, timeout: float = 60.0) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise ValueError("the server URL must start with http:// or https://")
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.timeout = timeout

    def request(
        self,
        method: str,
        path: str,
        *,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> Response:
        all_headers = {"Authorization": f"Bearer {self.token}", "Accept": "application/json"}
        all_headers.update(headers or {})
        request = urllib.request.Request(  # noqa: S310 - the scheme is checked in __init__
            self.base_url + API_PREFIX + path, data=body, method=method, headers=all_headers
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as answer:  # noqa: S310
                return Response(answer.status, answer.read(), dict(answer.headers.items()))
        except urllib.error.HTTPError as exc:
            # An HTTP error is an answer: the server decided, and the caller reads why.
            return Response(exc.code, exc.read() or b"", dict(exc.headers.items()))
        except (urllib.error.URLError, OSError) as exc:
            raise TransportError(str(exc)) from exc


class DjangoClientTransport:
    """The same requests through ``django.test.Client``: in-process, no sockets."""

    def __init__(self, *, client: Any, token: str) -> None:
        self.client = client
        self.token = token

    def request(
        self,
        method: str,
        path: str,
        *,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> Response:
        all_headers = {"Authorization": f"Bearer {self.token}"}
        all_headers.update(headers or {})
        content_type = all_headers.pop("Content-Type", "application/octet-stream")
        answer = self.client.generic(
            method,
            API_PREFIX + path,
            data=body or b"",
            content_type=content_type,
            headers=all_headers,
        )
        return Response(answer.status_code, answer.content, dict(answer.headers.items()))
