"""Running the scoring app under uvicorn, with a cap on request headers.

uvicorn's h11 parser stops at ``h11_max_incomplete_event_size`` bytes of headers, but its
faster httptools parser (``uvicorn[standard]``, what ``http="auto"`` picks) buffers
headers without limit: a client could send gigabytes of them. :class:`HeaderCappedHttpTools`
counts the request line and header bytes as the parser reads them and answers 431 (and
closes the connection) past the same cap, so both parsers refuse headers over
``max_header_bytes``. It also sends each small response in one write
(:class:`OneWriteTransport`).
"""

from __future__ import annotations

from typing import Any

DEFAULT_MAX_HEADER_BYTES = 64 * 1024

try:
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
except ImportError:  # uvicorn without httptools: h11 enforces the cap itself
    HttpToolsProtocol = None  # type: ignore[assignment,misc]


class OneWriteTransport:
    """A transport that sends a response's status line and headers with its first body bytes.

    uvicorn writes the head of a response and then its body in two ``transport.write`` calls:
    two ``send`` system calls and two TCP segments for what is one small reply. This holds a
    head (a write that starts ``HTTP/`` and ends the header block, not ``100 Continue``) and
    prepends it to the next write; :meth:`flush` sends a head no body follows (the protocol
    calls it when a response is complete: a HEAD reply, an empty body), and closing sends it
    first. The order of the bytes never changes; every other attribute is the wrapped
    transport's. (A streamed body's head goes out with its first chunk.)
    """

    __slots__ = ("_transport", "_held")

    def __init__(self, transport: Any) -> None:
        self._transport = transport
        self._held: bytes | None = None

    def write(self, data: Any) -> None:
        held = self._held
        if held is not None:
            self._held = None
            self._transport.write(held + data)
        elif data[:5] == b"HTTP/" and data[-4:] == b"\r\n\r\n" and data[9:10] != b"1":
            self._held = bytes(data)  # (never "100 Continue": the client waits for it to send the body)
        else:
            self._transport.write(data)

    def writelines(self, chunks: Any) -> None:
        self.write(b"".join(chunks))

    def flush(self) -> None:
        """Send a held head now."""
        held = self._held
        if held is not None:
            self._held = None
            self._transport.write(held)

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def write_eof(self) -> None:
        self.flush()
        self._transport.write_eof()

    def abort(self) -> None:
        self._held = None
        self._transport.abort()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


if HttpToolsProtocol is not None:

    class HeaderCappedHttpTools(HttpToolsProtocol):  # type: ignore[misc,valid-type]
        """uvicorn's httptools protocol, refusing requests whose headers exceed the config's cap.

        The parser reports the request line and each header as it reads them: their bytes are
        counted there, so the cap holds however the request is split into packets. A request
        over it is never dispatched; it gets 431 once the parser has returned.
        """

        def __init__(self, config: Any, *args: Any, **kwargs: Any) -> None:
            super().__init__(config, *args, **kwargs)
            self._header_cap = config.h11_max_incomplete_event_size or DEFAULT_MAX_HEADER_BYTES
            self._header_bytes = 0
            self._over_cap = False
            self._in_headers = True  # a new connection waits for a request line and headers
            self._unparsed_bytes = 0  # bytes received while headers stay incomplete

        def connection_made(self, transport: Any) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self.transport = OneWriteTransport(transport)  # type: ignore[assignment]

        def _count(self, size: int) -> bool:
            self._header_bytes += size
            self._over_cap = self._over_cap or self._header_bytes > self._header_cap
            return self._over_cap

        def on_message_begin(self) -> None:
            super().on_message_begin()
            self._header_bytes = 0
            self._in_headers = True
            self._unparsed_bytes = 0

        def on_url(self, url: bytes) -> None:
            if not self._count(len(url)):
                super().on_url(url)

        def on_header(self, name: bytes, value: bytes) -> None:
            if not self._count(len(name) + len(value) + 4):  # ": " and CRLF
                super().on_header(name, value)

        def on_headers_complete(self) -> None:
            self._in_headers = False
            if not self._over_cap:
                super().on_headers_complete()

        def on_body(self, body: bytes) -> None:
            if not self._over_cap:
                super().on_body(body)

        def on_response_complete(self) -> None:
            self.transport.flush()  # a head without body bytes
            super().on_response_complete()

        def on_message_complete(self) -> None:
            if not self._over_cap:
                super().on_message_complete()

        def data_received(self, data: bytes) -> None:
            if self._over_cap:
                return
            counted = self._in_headers
            super().data_received(data)
            # A header still incomplete is not reported yet: count what arrived while it stays so
            # (a chunk in which a pipelined request starts may carry the previous body).
            if counted and self._in_headers:
                self._unparsed_bytes += len(data)
                self._over_cap = self._over_cap or self._unparsed_bytes > self._header_cap
            if self._over_cap and not self.transport.is_closing():
                self._refuse_headers()

        def _refuse_headers(self) -> None:
            self.logger.warning("Request headers exceed %d bytes; refused with 431.", self._header_cap)
            message = (f"The request headers exceed this server's limit of {self._header_cap} bytes.").encode()
            self.transport.write(b"".join([
                b"HTTP/1.1 431 Request Header Fields Too Large\r\n",
                b"content-type: text/plain; charset=utf-8\r\n",
                b"content-length: " + str(len(message)).encode() + b"\r\n",
                b"connection: close\r\n\r\n", message]))
            self.transport.close()


def http_protocol() -> Any:
    """The ``http`` option for uvicorn: the header-capped httptools protocol, or h11 without httptools."""
    if HttpToolsProtocol is None:
        return "h11"
    try:
        import httptools  # noqa: F401
    except ImportError:
        return "h11"
    return HeaderCappedHttpTools


def uvicorn_options(max_header_bytes: int = DEFAULT_MAX_HEADER_BYTES) -> dict[str, Any]:
    """The uvicorn options every mlcask scoring server runs with (``uvicorn.run(app, **these, ...)``)."""
    return {"http": http_protocol(), "h11_max_incomplete_event_size": int(max_header_bytes)}


def run(app: Any, *, host: str = "127.0.0.1", port: int = 5000, workers: int = 1, access_log: bool = False,
        factory: bool = False, max_header_bytes: int = DEFAULT_MAX_HEADER_BYTES) -> None:
    """Serve ``app`` (an ASGI app, or an import string with ``factory``/``workers``) with uvicorn."""
    import uvicorn

    uvicorn.run(app, host=host, port=port, workers=workers, access_log=access_log, factory=factory,
                **uvicorn_options(max_header_bytes))
