"""The threaded HTTP server every local endpoint uses (the API, the dev console)."""

from __future__ import annotations

from http.server import ThreadingHTTPServer

LISTEN_BACKLOG = 128  # connections the kernel queues before accept(); socketserver's default is 5
POLL_SECONDS = 0.1  # how soon serve_forever notices a shutdown


class LocalHTTPServer(ThreadingHTTPServer):
    """One thread per connection, a listen backlog that takes a burst of clients, and SO_REUSEADDR so a
    restart binds at once even while the last run's connections linger in TIME-WAIT."""

    allow_reuse_address = True
    daemon_threads = True
    request_queue_size = LISTEN_BACKLOG
