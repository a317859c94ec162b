"""A small JSON-over-HTTP client for the Label Studio REST API (standard library only).

Plain ``urllib`` instead of ``label-studio-sdk``: the sdk pins numpy, opencv-python-headless,
nltk and pyjwt, which would leak into every labelwise environment.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from labelwise.errors import LabelwiseError


class LabelStudioError(LabelwiseError, RuntimeError):
    """Label Studio answered with an error, or could not be reached."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        self.status = status
        super().__init__(message)


class LabelStudioClient:
    """Talks to one Label Studio server with one API token.

    Args:
        url: the server, e.g. ``http://127.0.0.1:8080``.
        token: a legacy API token (``Authorization: Token ...``) or a personal access token
            (a JWT refresh token; exchanged once for an access token).
        timeout: seconds per request.
    """

    def __init__(self, url: str, token: str, *, timeout: float = 60.0) -> None:
        if not url or not token:
            raise LabelStudioError("a Label Studio URL and an API token are needed. Fix: pass url= and "
                                   "token= (Label Studio: Account & Settings > Access Token).")
        self.url = url.rstrip("/")
        self.token = token
        self.timeout = timeout
        self._authorization: str | None = None

    def _auth_header(self) -> str:
        if self._authorization is None:
            if self.token.count(".") == 2:  # a personal access token (JWT): trade it for an access token
                answer = self._send("POST", "/api/token/refresh", {"refresh": self.token}, auth=None)
                self._authorization = f"Bearer {answer['access']}"
            else:
                self._authorization = f"Token {self.token}"
        return self._authorization

    def request(self, method: str, path: str, body: Any = None, *, query: dict[str, Any] | None = None) -> Any:
        """``method path`` with a JSON ``body``; the decoded JSON answer (None when empty)."""
        if query:
            path = f"{path}?{urllib.parse.urlencode(query)}"
        return self._send(method, path, body, auth=self._auth_header())

    def _send(self, method: str, path: str, body: Any, *, auth: str | None) -> Any:
        data = None if body is None else json.dumps(body, ensure_ascii=False).encode()
        request = urllib.request.Request(self.url + path, data=data, method=method)
        request.add_header("Accept", "application/json")
        if data is not None:
            request.add_header("Content-Type", "application/json")
        if auth is not None:
            request.add_header("Authorization", auth)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310 (user's URL)
                raw = response.read()
        except urllib.error.HTTPError as error:
            detail = error.read().decode(errors="replace")[:600]
            hint = {401: " Fix: check the API token (and, for a legacy token, that the server allows them: "
                         "label-studio start --enable-legacy-api-token).",
                    403: " Fix: the token's user needs access to this project.",
                    404: " Fix: check the project id and the URL."}.get(error.code, "")
            raise LabelStudioError(f"Label Studio {method} {path} answered {error.code}: {detail}{hint}",
                                   status=error.code) from None
        except (urllib.error.URLError, OSError) as error:
            raise LabelStudioError(f"cannot reach Label Studio at {self.url} ({error}). Fix: start it "
                                   "(label-studio start) or correct the URL.") from None
        if not raw.strip():
            return None
        try:
            return json.loads(raw)
        except json.JSONDecodeError:
            raise LabelStudioError(f"Label Studio {method} {path} did not answer JSON: {raw[:200]!r}") from None
