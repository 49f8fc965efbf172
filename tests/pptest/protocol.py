"""PushProx by hand: we play the client against the real proxy (a poll sent
and answered on a raw socket, a push of a serialized response).  For the
other direction (our client against a proxy) see fakes.FakeProxy.
"""

import time

from .rawhttp import _Reader, connect, http_request, read_response

__all__ = [
    "RawPoll", "push_message", "post_push",
]


class RawPoll:
    """A poll sent by hand (we play the client)."""

    def __init__(self, proxy_port, fqdn, body=None):
        self.sock = connect(proxy_port)
        body = (fqdn if body is None else body)
        if isinstance(body, str):
            body = body.encode()
        self.sock.sendall(
            b"POST /poll HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
            b"Content-Type: text/plain\r\nContent-Length: %d\r\n\r\n%s" % (
                proxy_port, len(body), body))

    def answer(self, timeout=10.0):
        reader = _Reader(self.sock, time.monotonic() + timeout)
        return read_response(reader, method="POST")

    def close(self):
        self.sock.close()


def push_message(sid, body=b"pushed 1\n", status=200, extra=()):
    """A serialized scrape response for POST /push: Id sid (none if
    None), the status, extra header lines, body."""
    head = ["HTTP/1.1 %d %s" % (status, "OK" if status == 200 else "Error"),
            "Content-Type: text/plain; version=0.0.4",
            "Content-Length: %d" % len(body)]
    if sid is not None:
        head.append("Id: %s" % sid)
    head.extend(extra)
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


def post_push(proxy_port, message, timeout=10.0):
    """POST /push with message (a serialized response) as its body."""
    return http_request(proxy_port, "POST", "/push", body=message,
                        headers={"Content-Type": "text/plain"},
                        timeout=timeout)
