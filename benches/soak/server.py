"""Endpoints for the soak benchmark, on 127.0.0.1: passing, failing, slow, resetting and hostile
(trickling bodies, a compression bomb, an endless redirect, bytes that are not HTTP)."""
import gzip
import json
import socket
import struct
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

BOMB = gzip.compress(b"\0" * (64 << 20), 9)  # 64 MiB of zeros in about 64 KiB
PAGE = b"""<!doctype html><html><head><title>Soak</title></head><body>
<form><input id="q"><button id="go" type="button" onclick="document.getElementById('out').textContent='done'">Go</button></form>
<p id="out"></p></body></html>"""


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, status, body, ctype="application/json", extra=()):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        for k, v in extra:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        path = self.path.split("?")[0]
        if path == "/ok":
            self.reply(200, json.dumps({"status": "ok"}).encode())
        elif path == "/fail":
            self.reply(500, b'{"status":"down"}')
        elif path == "/slow":
            time.sleep(3)
            self.reply(200, b'{"status":"ok"}')
        elif path == "/reset":
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
        elif path == "/trickle":
            self.send_response(200)
            self.send_header("Content-Length", "100000")
            self.end_headers()
            for _ in range(40):
                self.wfile.write(b"x")
                self.wfile.flush()
                time.sleep(0.25)
        elif path == "/bomb":
            self.reply(200, BOMB, "text/plain", [("Content-Encoding", "gzip")])
        elif path == "/loop":
            self.reply(302, b"", "text/plain", [("Location", "/loop2")])
        elif path == "/loop2":
            self.reply(302, b"", "text/plain", [("Location", "/loop")])
        elif path == "/garbage":
            self.wfile.write(b"\x16\x03\x01 this is not HTTP\r\n\r\n")
            self.connection.close()
        elif path == "/page":
            self.reply(200, PAGE, "text/html")
        else:
            self.reply(404, b"{}")


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024

    def handle_error(self, request, client_address):
        pass  # canary hanging up on a slow or trickling reply is the point


if __name__ == "__main__":
    Server(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
