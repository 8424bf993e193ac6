"""soar lab pool: a TCP listener standing in for a mining pool. It mines nothing; it accepts
connections on the pool ports, discards what it is sent, and appends one JSON line per event
to the log: {"t": <epoch ms>, "event": "open"|"close", "peer": "<addr>:<port>"}."""

import argparse
import asyncio
import json
import os
import time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--log", required=True, help="file to append events to")
    parser.add_argument("--ready", required=True, help="file to write our pid to once listening")
    parser.add_argument("ports", nargs="+", type=int)
    options = parser.parse_args()
    asyncio.run(serve(options.ports, options.log, options.ready))


async def serve(ports: list[int], log_path: str, ready_path: str) -> None:
    log = open(log_path, "a", buffering=1, encoding="utf-8")

    def record(event: str, peer: tuple) -> None:
        entry = {"t": time.time_ns() // 1_000_000, "event": event, "peer": f"{peer[0]}:{peer[1]}"}
        log.write(json.dumps(entry) + "\n")

    async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername")
        record("open", peer)
        try:
            while await reader.read(4096):
                pass
        except (ConnectionError, OSError):
            pass
        finally:
            record("close", peer)
            writer.close()

    servers = [await asyncio.start_server(hold, "0.0.0.0", port) for port in ports]
    # Written only once every port listens: lab.sh waits for this file.
    with open(ready_path + ".tmp", "w", encoding="utf-8") as ready:
        ready.write(f"{os.getpid()}\n")
    os.replace(ready_path + ".tmp", ready_path)
    await asyncio.gather(*(server.serve_forever() for server in servers))


if __name__ == "__main__":
    main()
