"""A small HTTP/1.1 keep-alive load generator, run as its own process.

``python -m bench._load --port P --path /x [--method HEAD] [--header 'K: V'] --connections C
--seconds S`` prints one JSON line: requests, errors, requests per second, p50 and p99 latency.
``--also-port Q`` (repeatable) spreads the connections over several servers in turn, as a
round-robin load balancer would. Bounded in time and count; it talks only to 127.0.0.1.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time

MAX_REQUESTS = 2_000_000


async def _worker(
    port: int, request: bytes, deadline: float, latencies: list[float], errors: list[int]
) -> None:
    has_body = not request.startswith(b"HEAD ")
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while time.perf_counter() < deadline and len(latencies) < MAX_REQUESTS:
            start = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            if length and has_body:
                await reader.readexactly(length)
            latencies.append(time.perf_counter() - start)
            if not head.startswith(b"HTTP/1.1 200"):
                errors.append(1)
    finally:
        writer.close()


async def _run(args: argparse.Namespace) -> dict[str, float]:
    headers = "".join(f"{h}\r\n" for h in args.header)
    ports = [args.port, *args.also_port]
    requests = [
        (f"{args.method} {args.path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n{headers}\r\n").encode()
        for port in ports
    ]
    latencies: list[float] = []
    errors: list[int] = []
    # warm up (every server), then measure
    warm = time.perf_counter() + 0.5
    await asyncio.gather(
        *(
            _worker(port, request, warm, [], [])
            for port, request in zip(ports, requests, strict=True)
            for _ in range(2)
        )
    )
    start = time.perf_counter()
    deadline = start + args.seconds
    await asyncio.gather(
        *(
            _worker(ports[i % len(ports)], requests[i % len(ports)], deadline, latencies, errors)
            for i in range(args.connections)
        )
    )
    elapsed = time.perf_counter() - start
    latencies.sort()
    return {
        "requests": len(latencies),
        "errors": len(errors),
        "rps": round(len(latencies) / elapsed, 1),
        "p50_ms": round(latencies[len(latencies) // 2] * 1000, 2),
        "p99_ms": round(latencies[int(len(latencies) * 0.99)] * 1000, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--also-port", type=int, action="append", default=[])
    parser.add_argument("--path", required=True)
    parser.add_argument("--method", choices=("GET", "HEAD"), default="GET")
    parser.add_argument("--header", action="append", default=[])
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=5.0)
    print(json.dumps(asyncio.run(_run(parser.parse_args()))))


if __name__ == "__main__":
    main()
