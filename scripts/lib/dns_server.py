"""The tests' DNS server (dnslib): answers each query from a JSON file a test writes.

Usage: dns_server.py PORT RECORDS_DIR. A query for NAME reads RECORDS_DIR/NAME.json (NAME in
lower case, no trailing dot):

    {"rcode": "NOERROR" | "NXDOMAIN" | "SERVFAIL" | "REFUSED",
     "txt": [["one record's first string", "its second"], ["another record"]],
     "delay_ms": 0}

No file is NXDOMAIN. Files are read at each query, so a test changes what the server says by
replacing its file; every answer has a TTL of 0. UDP and TCP on 127.0.0.1 only.
"""

import json
import os
import sys
import threading
import time

from dnslib import QTYPE, RCODE, RR, TXT
from dnslib.server import BaseResolver, DNSLogger, DNSServer


class FileResolver(BaseResolver):
    def __init__(self, root):
        self.root = root

    def resolve(self, request, handler):
        reply = request.reply()
        name = str(request.q.qname).rstrip(".").lower()
        path = os.path.join(self.root, name + ".json")
        try:
            with open(path, encoding="utf-8") as f:
                spec = json.load(f)
        except (FileNotFoundError, ValueError):
            reply.header.rcode = RCODE.NXDOMAIN
            return reply
        if spec.get("delay_ms"):
            time.sleep(spec["delay_ms"] / 1000)
        rcode = spec.get("rcode", "NOERROR")
        reply.header.rcode = getattr(RCODE, rcode)
        if rcode == "NOERROR" and request.q.qtype in (QTYPE.TXT, QTYPE.ANY):
            for strings in spec.get("txt", []):
                rdata = TXT([s.encode("utf-8") for s in strings])
                reply.add_answer(RR(request.q.qname, QTYPE.TXT, ttl=0, rdata=rdata))
        return reply


def main():
    port, root = int(sys.argv[1]), sys.argv[2]
    os.makedirs(root, exist_ok=True)
    resolver = FileResolver(root)
    quiet = DNSLogger(log="-request,-reply,-truncated,-data,-recv,-send")
    servers = [DNSServer(resolver, address="127.0.0.1", port=port, tcp=tcp, logger=quiet) for tcp in (False, True)]
    for server in servers:
        server.start_thread()
    print(f"dns test server on 127.0.0.1:{port}, records in {root}", flush=True)
    threading.Event().wait()


if __name__ == "__main__":
    main()
