"""Who may use the signposting page, and how every answer leaves it.

Where ``gapmap serve`` listens and with which access token (:class:`ServePolicy`, checked by
:func:`serve_policy`); the signed, expiring sign-in cookie (:func:`session_cookie`); and the
:class:`Guard` every request passes: the Host allow-list (DNS rebinding), the Origin check on
state-changing requests, the body limit, the token or named staff's sign-in, and the security
headers (:data:`SECURITY_HEADERS`) on every answer.
"""

from __future__ import annotations

import hmac
import time
from dataclasses import dataclass
from pathlib import Path

from fastapi import Request
from fastapi.responses import HTMLResponse, Response

from gapmap.errors import InputError, Problem
from gapmap.serve.api import _problem_response

__all__ = [
    "LOOPBACK_HOSTS", "MAX_BODY", "MAX_FAILED_SIGNINS", "MIN_TOKEN", "SECURITY_HEADERS",
    "SESSION_SECONDS", "TOKEN_COOKIE", "Guard", "ServePolicy", "serve_policy", "session_cookie",
]  # fmt: skip

#: The sign-in cookie's name.
TOKEN_COOKIE = "gapmap_token"
#: Headers of every answer: no script, style or frame from elsewhere, no referrer.

SECURITY_HEADERS = [
    (
        b"content-security-policy",
        b"default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
        b"script-src 'self'; frame-ancestors 'none'; form-action 'self'",
    ),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
]


#: Largest request body read (bytes): a suggestion request is a few hundred bytes.
MAX_BODY = 64 * 1024
#: Shortest access token accepted (``gapmap serve --new-token`` makes one of 32 characters).
MIN_TOKEN = 16
#: How long a sign-in lasts (seconds).
SESSION_SECONDS = 8 * 3600
#: Failed sign-ins from one address within a minute before it must wait.
MAX_FAILED_SIGNINS = 5
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


@dataclass(frozen=True)
class ServePolicy:
    """Where the page listens and who may use it (checked by :func:`serve_policy`)."""

    host: str = "127.0.0.1"
    port: int = 8000
    token: str | None = None


def serve_policy(
    *,
    host: str,
    port: int,
    token: str | None = None,
    token_file: Path | None = None,
    named_staff: bool = False,
) -> ServePolicy:
    """Check the listening address and the access token; every problem at once.

    A token is read from ``token_file`` if given. Listening on anything but a loopback address
    needs a token: the page shows providers' details and answers questions about people.

    Parameters
    ----------
    host, port
        Where to listen.
    token
        An access token given directly (tests).
    token_file
        A file holding the token.
    named_staff
        Staff sign in with their own tokens (``serve --db``): no shared token is needed.

    Returns
    -------
    ServePolicy

    Raises
    ------
    InputError
        naming the setting (``port``, ``token_file``).
    """
    import ipaddress

    problems: list[Problem] = []
    if not 0 < port < 65536:
        problems.append(
            Problem("settings", "must be from 1 to 65535", column="port", value=str(port))
        )
    if token_file is not None:
        try:
            token = token_file.read_text(encoding="utf-8").strip()
        except OSError as exc:
            problems.append(Problem(str(token_file), f"cannot read the token file: {exc}"))
        else:
            if not token:
                problems.append(Problem(str(token_file), "the token file is empty"))
    if token and len(token) < MIN_TOKEN:
        problems.append(
            Problem(
                "settings",
                f"the access token must have at least {MIN_TOKEN} characters ("
                "gapmap serve --new-token prints a good one)",
                column="token_file",
            )
        )
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = host == "localhost"
    if not loopback and not token and not named_staff:
        problems.append(
            Problem(
                "settings",
                f"an access token is needed to listen on {host}, where other machines can reach "
                "the page (or keep the default host 127.0.0.1)",
                column="token_file",
            )
        )
    if not problems:
        problems += _port_problems(host, port)
    if problems:
        raise InputError(problems)
    return ServePolicy(host, port, token or None)


def _port_problems(host: str, port: int) -> list[Problem]:
    """Is the address free to listen on? (Found before the register is read.)"""
    import socket

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        return [Problem("settings", f"cannot listen on {host}: {exc}", column="host")]
    family, _, _, _, address = infos[0]
    with socket.socket(family, socket.SOCK_STREAM) as s:
        try:
            s.bind(address)
        except OSError as exc:
            return [
                Problem(
                    "settings",
                    f"cannot listen on {host}:{port} ({exc.strerror}); is gapmap serve already "
                    "running? Choose another port",
                    column="port",
                )
            ]
    return []


def session_cookie(token: str, now: float | None = None) -> str:
    """A sign-in cookie's value: its expiry time and an HMAC of it under the token (the token
    itself never leaves the server).

    Parameters
    ----------
    token
        The access token.
    now
        The time (default: now).

    Returns
    -------
    str
    """
    expiry = int((now if now is not None else time.time()) + SESSION_SECONDS)
    mac = hmac.new(token.encode(), f"gapmap-session:{expiry}".encode(), "sha256").hexdigest()
    return f"{expiry}.{mac}"


def _valid_session(token: str, value: str) -> bool:
    expiry, _, mac = value.partition(".")
    if not expiry.isdigit() or int(expiry) < time.time():
        return False
    good = hmac.new(token.encode(), f"gapmap-session:{expiry}".encode(), "sha256").hexdigest()
    return hmac.compare_digest(mac.encode(), good.encode())


class Guard:
    """ASGI middleware, every request: the Host allow-list (DNS rebinding), the Origin check on
    state-changing requests (cross-site forms), the body limit (413), the access token (if
    any), and security headers on every answer.

    Parameters
    ----------
    app
        The ASGI application guarded.
    token
        The shared access token, if any.
    signin
        Makes the sign-in page (HTML) answered to a browser without a session.
    allowed_hosts
        The host names the server answers to.
    staff
        Named staff's sign-in (``serve --db``), instead of the shared token.
    """

    def __init__(self, app, *, token: str | None, signin, allowed_hosts, staff=None):
        self.app, self.token, self.signin, self.staff = app, token, signin, staff
        self.allowed_hosts = {h.lower().strip("[]") for h in allowed_hosts}

    def _authorised(self, request: Request) -> bool | str:
        token = self.token or ""
        header = request.headers.get("x-gapmap-token", "")
        scheme, _, value = request.headers.get("authorization", "").partition(" ")
        bearer = value.strip() if scheme.lower() == "bearer" else ""
        if self.staff is not None:  # named staff (serve --db): the member's name, or refused
            for given in (header, bearer):
                if given:
                    return self.staff.name_for_token(given) or False
            cookie = request.cookies.get(TOKEN_COOKIE, "")
            return (self.staff.name_for_cookie(cookie) or False) if cookie else False
        for given in (header, bearer):
            if given and hmac.compare_digest(given.encode(), token.encode()):
                return True
        cookie = request.cookies.get(TOKEN_COOKIE, "")
        return bool(cookie) and _valid_session(token, cookie)

    def _host_ok(self, request: Request) -> bool:
        host = request.headers.get("host", "")
        name = host.rsplit(":", 1)[0] if not host.startswith("[") else host[1:].split("]")[0]
        return name.lower() in self.allowed_hosts

    def _origin_ok(self, request: Request) -> bool:
        site = request.headers.get("sec-fetch-site", "")
        if site in ("cross-site", "same-site"):
            return False
        origin = request.headers.get("origin")
        if origin is None:
            return True  # not a browser's cross-origin request (API clients, curl)
        if origin == "null":  # the page's own forms, under Referrer-Policy: no-referrer
            return site == "same-origin"
        from urllib.parse import urlsplit

        name = (urlsplit(origin).hostname or "").lower()
        return name in self.allowed_hosts

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        request = Request(scope)
        path = scope["path"]
        if not self._host_ok(request):
            return await _problem_response(
                400, "this server answers only to its own host names (see --allowed-host)"
            )(scope, receive, send)
        if scope["method"] not in ("GET", "HEAD", "OPTIONS") and not self._origin_ok(request):
            return await _problem_response(403, "a request from another site was refused")(
                scope, receive, send
            )
        length = request.headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > MAX_BODY):
            return await _problem_response(
                413, f"the request is larger than {MAX_BODY // 1024} kB"
            )(scope, receive, send)
        if scope["method"] not in ("GET", "HEAD"):
            body = b""
            more = True
            while more:  # read it all (it is small) so that no slow sender holds a worker
                message = await receive()
                body += message.get("body", b"")
                more = message.get("more_body", False)
                if len(body) > MAX_BODY:
                    return await _problem_response(
                        413, f"the request is larger than {MAX_BODY // 1024} kB"
                    )(scope, receive, send)
            sent = False

            async def receive():  # noqa: F811 - the body read above, replayed once
                nonlocal sent
                if sent:
                    return {"type": "http.disconnect"}
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}

        if (self.token or self.staff) and not path.startswith("/static/") and path != "/signin":
            from starlette.concurrency import run_in_threadpool

            # named staff are looked up in the database: in a worker thread
            who = (
                await run_in_threadpool(self._authorised, request)
                if self.staff is not None
                else self._authorised(request)
            )
            if not who:
                response: Response
                if path.startswith("/api/") or path == "/openapi.json":
                    response = _problem_response(401, "an access token is needed")
                else:
                    response = HTMLResponse(self.signin(), status_code=401)
                return await response(scope, receive, send)
            if isinstance(who, str):
                scope["gapmap.staff"] = who
        static = path.startswith("/static/")

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", [])) + SECURITY_HEADERS
                if not static:
                    headers.append((b"cache-control", b"no-store"))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)
