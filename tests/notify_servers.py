"""Real local servers the notification tests deliver to: a WeCom robot stand-in (HTTP)
and an SMTP server (aiosmtpd)."""

from __future__ import annotations

import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class RobotServer:
    """Answers like a WeCom group robot and keeps every call (path, headers, JSON body).

    ``answers`` is a list of ``(status, json)`` used in turn (the last one repeats);
    ``delay`` seconds are spent on each call (to kill a worker in the middle).
    """

    def __init__(self, answers=None, delay: float = 0.0):
        self.calls: list[dict] = []
        self.answers = list(answers or [(200, {"errcode": 0, "errmsg": "ok"})])
        self.delay = delay
        robot = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if robot.delay:
                    time.sleep(robot.delay)
                robot.calls.append({"path": self.path, "headers": dict(self.headers),
                                    "body": json.loads(body.decode("utf-8"))})
                status, answer = robot.answers[min(len(robot.calls), len(robot.answers)) - 1]
                payload = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}/cgi-bin/webhook/send?key=test-key-1234"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


class MailServer:
    """An SMTP server on a free loopback port keeping every message it accepts."""

    def __init__(self):
        from aiosmtpd.controller import Controller

        self.messages: list = []
        outer = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):
                outer.messages.append(envelope)
                return "250 OK"

        with socket.socket() as probe:  # a free port (aiosmtpd checks it after starting)
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)

    def __enter__(self):
        self.controller.start()
        return self

    def __exit__(self, *exc):
        self.controller.stop()
