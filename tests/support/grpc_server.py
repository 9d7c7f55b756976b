"""A gRPC server with the standard health service (grpcio's own), for canary's grpc tests.

Usage: grpc_server.py PORT_FILE [CERT KEY] -- SERVICE=STATUS ...
Listens on 127.0.0.1 (a free port, written to PORT_FILE once serving), with TLS when CERT and
KEY are given. STATUS is SERVING or NOT_SERVING; the empty service ("") is the server itself.
"""

import sys
import time

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from concurrent import futures


def main() -> None:
    args = sys.argv[1:]
    split = args.index("--")
    head, statuses = args[:split], args[split + 1 :]
    port_file = head[0]
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    servicer = health.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(servicer, server)
    for item in statuses:
        name, status = item.split("=", 1)
        servicer.set(name, getattr(health_pb2.HealthCheckResponse, status))
    if len(head) == 3:
        with open(head[1], "rb") as c, open(head[2], "rb") as k:
            creds = grpc.ssl_server_credentials([(k.read(), c.read())])
        port = server.add_secure_port("127.0.0.1:0", creds)
    else:
        port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    with open(port_file + ".tmp", "w") as f:
        f.write(str(port))
    import os

    os.rename(port_file + ".tmp", port_file)
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    main()
