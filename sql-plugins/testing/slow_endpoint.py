#!/usr/bin/env python3
"""A SageMaker endpoint stand-in that is slow: every POST /endpoints/NAME/invocations is read, then
answered after DELAY seconds with VALUE (default 0.5) for each request line, comma-joined (text/csv,
as the XGBoost container answers). Used by tests/remote.sh to check that a waiting query is canceled
promptly and, without a delay, as a remote that disagrees (and writes its numbers its own way).

usage: slow_endpoint.py PORT DELAY_SECONDS [VALUE]   (PORT 0: any free port; prints "ready PORT" once listening)"""
import http.server
import socketserver
import sys
import time


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        time.sleep(DELAY)
        rows = max(1, len([line for line in body.split(b"\n") if line.strip()]))
        answer = ",".join([VALUE] * rows).encode()
        try:
            self.send_response(200)
            self.send_header("Content-Type", "text/csv")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up first: what the test wants

    def log_message(self, *args):
        pass


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


if __name__ == "__main__":
    PORT, DELAY = int(sys.argv[1]), float(sys.argv[2])
    VALUE = sys.argv[3] if len(sys.argv) > 3 else "0.5"
    with Server(("127.0.0.1", PORT), Handler) as s:
        print("ready", s.server_address[1], flush=True)
        s.serve_forever()
