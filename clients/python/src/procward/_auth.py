"""Channels that send ``authorization: Bearer TOKEN`` on every call."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Optional, Sequence, Tuple, Union

import grpc
import grpc.aio

__all__ = ["connect", "connect_from_home", "default_home", "read_home"]

ChannelOptions = Sequence[Tuple[str, Any]]


def _with_token(details: grpc.aio.ClientCallDetails, header: str) -> grpc.aio.ClientCallDetails:
    metadata = grpc.aio.Metadata()
    if details.metadata is not None:
        for key, value in details.metadata:
            metadata.add(key, value)
    if "authorization" not in metadata:
        metadata.add("authorization", header)
    return details._replace(metadata=metadata)  # type: ignore[attr-defined]


# grpc.aio files each interceptor under the first kind it matches, so one class per kind.
class _UnaryUnaryAuth(grpc.aio.UnaryUnaryClientInterceptor):
    def __init__(self, header: str) -> None:
        self._header = header

    async def intercept_unary_unary(self, continuation, client_call_details, request):  # type: ignore[override]
        return await continuation(_with_token(client_call_details, self._header), request)


class _UnaryStreamAuth(grpc.aio.UnaryStreamClientInterceptor):
    def __init__(self, header: str) -> None:
        self._header = header

    async def intercept_unary_stream(self, continuation, client_call_details, request):  # type: ignore[override]
        return await continuation(_with_token(client_call_details, self._header), request)


class _StreamUnaryAuth(grpc.aio.StreamUnaryClientInterceptor):
    def __init__(self, header: str) -> None:
        self._header = header

    async def intercept_stream_unary(self, continuation, client_call_details, request_iterator):  # type: ignore[override]
        return await continuation(_with_token(client_call_details, self._header), request_iterator)


class _StreamStreamAuth(grpc.aio.StreamStreamClientInterceptor):
    def __init__(self, header: str) -> None:
        self._header = header

    async def intercept_stream_stream(self, continuation, client_call_details, request_iterator):  # type: ignore[override]
        return await continuation(_with_token(client_call_details, self._header), request_iterator)


def _interceptors(token: str) -> list[grpc.aio.ClientInterceptor]:
    header = f"Bearer {token}"
    return [
        _UnaryUnaryAuth(header),
        _UnaryStreamAuth(header),
        _StreamUnaryAuth(header),
        _StreamStreamAuth(header),
    ]


def connect(
    host: str = "127.0.0.1",
    port: Optional[int] = None,
    *,
    token: Optional[str] = None,
    tls: bool = False,
    root_certificates: Optional[Union[bytes, str]] = None,
    options: Optional[ChannelOptions] = None,
) -> grpc.aio.Channel:
    """Open a channel to a procward daemon's TCP listener.

    Args:
        host: Host name or address; ``"HOST:PORT"`` when ``port`` is omitted.
        port: TCP port (the one in ``$PROCWARD_HOME/tcp.json``).
        token: The daemon's token (``$PROCWARD_HOME/token``, or ``procward token``).
            Sent as ``authorization: Bearer TOKEN`` on every call, unary and streaming.
            ``None`` sends nothing (the daemon then answers ``UNAUTHENTICATED``).
        tls: Use TLS instead of plain TCP.
        root_certificates: PEM CA bundle to trust with ``tls=True`` (default: the
            system's roots).
        options: Extra gRPC channel options.

    Returns:
        A ``grpc.aio.Channel``; close it with ``await channel.close()`` or use it as
        ``async with connect(...) as channel:``. Call this inside a running event loop.
    """
    if port is None:
        target = host
    else:
        target = f"[{host}]:{port}" if ":" in host and not host.startswith("[") else f"{host}:{port}"
    interceptors = _interceptors(token) if token is not None else None
    if tls:
        if isinstance(root_certificates, str):
            root_certificates = root_certificates.encode()
        creds = grpc.ssl_channel_credentials(root_certificates=root_certificates)
        return grpc.aio.secure_channel(target, creds, options=options, interceptors=interceptors)
    return grpc.aio.insecure_channel(target, options=options, interceptors=interceptors)


def default_home() -> Path:
    """The daemon's state folder: ``$PROCWARD_HOME``, else ``$XDG_STATE_HOME/procward``,
    else ``~/.local/state/procward`` (the same rule as the daemon)."""
    env = os.environ.get("PROCWARD_HOME")
    if env:
        return Path(env)
    state = os.environ.get("XDG_STATE_HOME")
    return Path(state) / "procward" if state else Path.home() / ".local" / "state" / "procward"


def read_home(home: Union[str, os.PathLike, None] = None) -> Tuple[str, bool, str]:
    """``(address, tls, token)`` from ``HOME/tcp.json`` and ``HOME/token``.

    Raises:
        FileNotFoundError: no ``tcp.json`` (the daemon is not listening on TCP: start
            it with ``procward daemon --listen 127.0.0.1:0``) or no ``token``.
        ValueError: ``tcp.json`` has no address.
    """
    root = Path(home) if home is not None else default_home()
    tcp_json = root / "tcp.json"
    try:
        info = json.loads(tcp_json.read_text())
    except FileNotFoundError:
        raise FileNotFoundError(
            f"{tcp_json} not found: is the daemon running with TCP enabled (procward daemon --listen 127.0.0.1:0)?"
        ) from None
    address = info.get("address")
    if not address:
        raise ValueError(f"{tcp_json} has no address: {info!r}")
    token = (root / "token").read_text().strip()
    return str(address), bool(info.get("tls", False)), token


def connect_from_home(
    home: Union[str, os.PathLike, None] = None,
    *,
    root_certificates: Optional[Union[bytes, str]] = None,
    options: Optional[ChannelOptions] = None,
) -> grpc.aio.Channel:
    """Open an authenticated channel to the daemon whose state is in ``home``.

    Reads ``HOME/tcp.json`` (``{"address": "127.0.0.1:PORT", "tls": false}``) and the
    token in ``HOME/token``. ``home`` defaults to :func:`default_home`.
    """
    address, tls, token = read_home(home)
    return connect(address, token=token, tls=tls, root_certificates=root_certificates, options=options)
