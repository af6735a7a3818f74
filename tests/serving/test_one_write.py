"""Each response's head goes out with its body in one write (serving.server.OneWriteTransport)."""

from __future__ import annotations

import socket

import pytest

from mlcask.serving.server import OneWriteTransport, http_protocol


class Recording:
    """The transport end: what was written, in which calls, and whether it was closed."""

    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.closed = False

    def write(self, data) -> None:
        self.writes.append(bytes(data))

    def close(self) -> None:
        self.closed = True

    def abort(self) -> None:
        self.closed = True

    def get_write_buffer_size(self) -> int:
        return 0


HEAD = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n"


def test_head_and_body_are_one_write():
    inner = Recording()
    transport = OneWriteTransport(inner)
    transport.write(HEAD)
    assert inner.writes == []
    transport.write(memoryview(b"{}"))
    assert inner.writes == [HEAD + b"{}"]
    transport.write(b"more")  # a write that is no head passes through
    transport.flush()
    assert inner.writes == [HEAD + b"{}", b"more"]
    assert transport.get_write_buffer_size() == 0  # the rest is the wrapped transport's


def test_a_head_alone_is_sent_by_flush_and_before_closing():
    inner = Recording()
    transport = OneWriteTransport(inner)
    transport.write(HEAD)  # a HEAD reply: no body follows
    transport.flush()
    assert inner.writes == [HEAD]
    transport.write(HEAD)
    transport.close()
    assert inner.writes == [HEAD, HEAD] and inner.closed
    transport.flush()
    assert inner.writes == [HEAD, HEAD]  # sent once
    transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")  # never held: the client waits for it
    assert inner.writes[-1] == b"HTTP/1.1 100 Continue\r\n\r\n"


def _exchange(port: int, request: bytes, responses: int, end: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request)
        data = b""
        while data.count(b"HTTP/1.1 ") < responses or not data.endswith(end):
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
        return data


@pytest.mark.skipif(http_protocol() == "h11", reason="the httptools protocol is not installed")
def test_live_head_pipelined_and_keep_alive(serve_model, sklearn_model_dir, iris):
    import json

    body = json.dumps({"dataframe_split": {"columns": list(iris[0].columns),
                                           "data": iris[0].head(2).values.tolist()}}).encode()
    post = (b"POST /invocations HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\n\r\n" % len(body)) + body
    with serve_model(sklearn_model_dir) as live:
        port = int(live.url.rsplit(":", 1)[1])
        head = _exchange(port, b"HEAD /ping HTTP/1.1\r\nHost: x\r\n\r\n", 1, b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200 OK\r\n") and head.endswith(b"\r\n\r\n")
        both = _exchange(port, post + post, 2, b"}")
        assert both.count(b"HTTP/1.1 200 OK\r\n") == 2 and both.count(b'{"predictions"') == 2
        expected = live.client.post("/invocations", content=body, headers={"Content-Type": "application/json"})
        assert both.endswith(expected.content)
