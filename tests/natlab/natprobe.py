#!/usr/bin/env python3
"""natprobe — the NAT lab's own probe, so that a lab bug cannot pass for a netcore bug.

Small UDP tools that lab.sh runs inside its namespaces to check each router behaves as the NAT
type it claims to be (RFC 4787 terms: mapping and filtering behaviour). Standard library only.

  natprobe.py reflector ADDR... [--poke-from ADDR...] [--lifetime S]
      Bind every ADDR (ip:port). Answer each datagram with the address it came from
      ("seen IP:PORT"). On "poke", also send "poke" to that address from every --poke-from
      socket: those endpoints were never contacted by the client, so only a NAT that filters
      nothing (full cone) lets them through. On "later S1,S2,...", send "later-S" back after
      each S seconds (to see how long a NAT keeps an idle mapping). Prints "ready" once bound.

  natprobe.py map --port P --reflector ADDR... [--poke ADDR] [--wait S]
      From local port P, ask every reflector what address it saw, then (with --poke) ask that
      reflector to poke us and count which pokes arrive within --wait seconds. Prints one line:
        seen=IP:PORT,IP:PORT,... pokes=IP:PORT,...   (pokes lists the senders that got through)

  natprobe.py hold --port P --reflector ADDR --wait S [--then MESSAGE] [--until PAYLOAD]
      Print "seen IP:PORT" as the reflector saw us, send MESSAGE to the reflector if given,
      then for --wait seconds print
      "got PAYLOAD from IP:PORT" for each datagram received.

  natprobe.py send --to ADDR [--port P] [--message M] [--count N]
      Send M (default "hello") N times from local port P.

  natprobe.py listen --bind ADDR --wait S [--until PAYLOAD]
      Print "got PAYLOAD from IP:PORT" for each datagram received within S seconds (or until
      PAYLOAD arrives).

  natprobe.py burst --port P --reflector ADDR --count N [--interval-ms MS] [--wait S]
      Send N numbered requests; print "sent N answered K".

  natprobe.py rtt --port P --reflector ADDR [--count N] [--timeout S]
      N round trips to the reflector, one after the other; print
        rtt MEDIAN MIN MAX answered K of N
      in milliseconds (the lab's wire delay, NL_DELAY_MS, is checked with it).

  natprobe.py sniff --iface IF --stop FILE --forbid TEXT... [--forbid-ours TEXT...] [--max S]
      A sniffer on the wire (AF_PACKET, root): read every IPv4 UDP datagram crossing IF until FILE
      exists (or S seconds pass). TEXT given to --forbid must appear in no payload; TEXT given to
      --forbid-ours in no payload of ours (starting with the magic "NCRV"). Prints one line:
        sniffed=N ours=M hosts=IP,IP,... found=TEXT@IP:PORT>IP:PORT,...
      and exits 1 when anything forbidden was found or nothing of ours was seen.

Exit status: 0 on success, 1 when a reflector never answered, 2 on a usage error.
"""

import argparse
import select
import socket
import sys
import time


def parse_addr(text):
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit():
        raise argparse.ArgumentTypeError(f"expected IP:PORT, got {text!r}")
    return (host, int(port))


def fmt(addr):
    return f"{addr[0]}:{addr[1]}"


def udp_socket(port=0, host="0.0.0.0"):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((host, port))
    return s


def receive_for(sock, seconds, on_datagram):
    """Call on_datagram(payload, source) for each datagram until `seconds` passed or it returns True."""
    deadline = time.monotonic() + seconds
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        ready, _, _ = select.select([sock], [], [], left)
        if ready:
            data, src = sock.recvfrom(2048)
            if on_datagram(data, src):
                return True


def ask_seen(sock, reflector, tries=10, timeout=0.2):
    """What address the reflector sees us as; retried because the lab may drop packets."""
    for _ in range(tries):
        sock.sendto(b"map", reflector)
        found = []

        def on(data, src):
            if src == reflector and data.startswith(b"seen "):
                found.append(data[5:].decode())
                return True
            return False

        if receive_for(sock, timeout, on):
            return found[0]
    return None


def cmd_reflector(args):
    socks = [udp_socket(a[1], a[0]) for a in args.addr]
    pokers = [udp_socket(a[1], a[0]) for a in args.poke_from]
    print("ready", flush=True)
    deadline = time.monotonic() + args.lifetime
    scheduled = []  # (when, socket, payload, destination)
    while time.monotonic() < deadline:
        now = time.monotonic()
        for item in [i for i in scheduled if i[0] <= now]:
            scheduled.remove(item)
            item[1].sendto(item[2], item[3])
        wait = min([0.5] + [i[0] - now for i in scheduled])
        ready, _, _ = select.select(socks + pokers, [], [], max(wait, 0))
        for s in ready:
            data, src = s.recvfrom(2048)
            if s in pokers:
                continue
            if data == b"poke":
                for p in pokers:
                    p.sendto(b"poke", src)
            elif data.startswith(b"later "):
                for delay in data[6:].split(b","):
                    scheduled.append((time.monotonic() + float(delay), s, b"later-" + delay, src))
            elif data.startswith(b"map") or data.startswith(b"burst"):
                s.sendto(b"seen " + fmt(src).encode() + b" " + data, src)
    return 0


def cmd_map(args):
    sock = udp_socket(args.port)
    seen = []
    for r in args.reflector:
        s = ask_seen(sock, r)
        if s is None:
            print(f"natprobe: reflector {fmt(r)} never answered", file=sys.stderr)
            return 1
        seen.append(s.split(" ")[0])
    pokes = []
    if args.poke:
        sock.sendto(b"poke", args.poke)

        def on(data, src):
            if data == b"poke":
                pokes.append(fmt(src))
            return False

        receive_for(sock, args.wait, on)
    print(f"seen={','.join(seen)} pokes={','.join(sorted(set(pokes)))}", flush=True)
    return 0


def cmd_hold(args):
    sock = udp_socket(args.port)
    s = ask_seen(sock, args.reflector)
    if s is None:
        print(f"natprobe: reflector {fmt(args.reflector)} never answered", file=sys.stderr)
        return 1
    print(f"seen {s.split(' ')[0]}", flush=True)
    if args.then:
        sock.sendto(args.then.encode(), args.reflector)

    def on(data, src):
        if not data.startswith(b"seen "):
            print(f"got {data.decode(errors='replace')} from {fmt(src)}", flush=True)
            return args.until is not None and data == args.until.encode()
        return False

    receive_for(sock, args.wait, on)
    return 0


def cmd_send(args):
    sock = udp_socket(args.port)
    for _ in range(args.count):
        sock.sendto(args.message.encode(), args.to)
        time.sleep(0.01)
    return 0


def cmd_listen(args):
    sock = udp_socket(args.bind[1], args.bind[0])
    print("ready", flush=True)

    def on(data, src):
        print(f"got {data.decode(errors='replace')} from {fmt(src)}", flush=True)
        return args.until is not None and data == args.until.encode()

    receive_for(sock, args.wait, on)
    return 0


def cmd_burst(args):
    sock = udp_socket(args.port)
    answered = set()

    def on(data, src):
        if src == args.reflector and data.startswith(b"seen "):
            answered.add(data.split(b" ")[-1])
        return False

    for i in range(args.count):
        sock.sendto(b"burst%d" % i, args.reflector)
        receive_for(sock, args.interval_ms / 1000.0, on)
    receive_for(sock, args.wait, on)
    print(f"sent {args.count} answered {len(answered)}", flush=True)
    return 0


def cmd_rtt(args):
    """Round trips to a reflector, one at a time: prints "rtt MEDIAN MIN MAX answered N of M" (ms)."""
    sock = udp_socket(args.port)
    times = []
    for i in range(args.count):
        tag = b"burst-rtt%d" % i
        sent = time.monotonic()
        got = []

        def on(data, src):
            if src == args.reflector and data.startswith(b"seen ") and data.split(b" ")[-1] == tag:
                got.append(time.monotonic())
                return True
            return False

        sock.sendto(tag, args.reflector)
        if receive_for(sock, args.timeout, on):
            times.append((got[0] - sent) * 1000.0)
    if not times:
        print(f"rtt none answered 0 of {args.count}", flush=True)
        return 1
    times.sort()
    median = times[len(times) // 2]
    print(f"rtt {median:.1f} {times[0]:.1f} {times[-1]:.1f} answered {len(times)} of {args.count}", flush=True)
    return 0


def cmd_sniff(args):
    import os
    import struct
    import time

    eth_p_all = 0x0003
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(eth_p_all))
    sock.bind((args.iface, 0))
    sock.settimeout(0.1)
    sniffed = ours = 0
    hosts = set()
    found = []
    deadline = time.monotonic() + args.max
    print("ready", flush=True)
    while not os.path.exists(args.stop) and time.monotonic() < deadline:
        try:
            frame, meta = sock.recvfrom(65536)
        except socket.timeout:
            continue
        if len(frame) < 14 + 20 + 8 or frame[12:14] != b"\x08\x00":
            continue  # not IPv4 over Ethernet
        ip = frame[14:]
        ihl = (ip[0] & 0x0F) * 4
        if ip[9] != 17 or len(ip) < ihl + 8:
            continue  # not UDP
        src = socket.inet_ntoa(ip[12:16])
        dst = socket.inet_ntoa(ip[16:20])
        sport, dport = struct.unpack("!HH", ip[ihl:ihl + 4])
        payload = ip[ihl + 8:]
        sniffed += 1
        hosts.update((src, dst))
        mine = payload.startswith(b"NCRV")
        ours += mine
        for text in args.forbid + (args.forbid_ours if mine else []):
            if text.encode() in payload:
                found.append(f"{text}@{src}:{sport}>{dst}:{dport}")
    print(f"sniffed={sniffed} ours={ours} hosts={','.join(sorted(hosts))} found={','.join(found)}")
    return 1 if found or ours == 0 else 0


def main():
    p = argparse.ArgumentParser(description="UDP probes for the NAT lab")
    sub = p.add_subparsers(dest="cmd", required=True)

    r = sub.add_parser("reflector")
    r.add_argument("addr", nargs="+", type=parse_addr)
    r.add_argument("--poke-from", nargs="*", type=parse_addr, default=[])
    r.add_argument("--lifetime", type=float, default=300.0)
    r.set_defaults(fn=cmd_reflector)

    m = sub.add_parser("map")
    m.add_argument("--port", type=int, required=True)
    m.add_argument("--reflector", nargs="+", type=parse_addr, required=True)
    m.add_argument("--poke", type=parse_addr)
    m.add_argument("--wait", type=float, default=0.4)
    m.set_defaults(fn=cmd_map)

    h = sub.add_parser("hold")
    h.add_argument("--port", type=int, required=True)
    h.add_argument("--reflector", type=parse_addr, required=True)
    h.add_argument("--wait", type=float, default=1.0)
    h.add_argument("--then")
    h.add_argument("--until", help="stop early once this payload arrives")
    h.set_defaults(fn=cmd_hold)

    s = sub.add_parser("send")
    s.add_argument("--to", type=parse_addr, required=True)
    s.add_argument("--port", type=int, default=0)
    s.add_argument("--message", default="hello")
    s.add_argument("--count", type=int, default=1)
    s.set_defaults(fn=cmd_send)

    li = sub.add_parser("listen")
    li.add_argument("--bind", type=parse_addr, required=True)
    li.add_argument("--wait", type=float, default=1.0)
    li.add_argument("--until", help="stop early once this payload arrives")
    li.set_defaults(fn=cmd_listen)

    b = sub.add_parser("burst")
    b.add_argument("--port", type=int, required=True)
    b.add_argument("--reflector", type=parse_addr, required=True)
    b.add_argument("--count", type=int, default=200)
    b.add_argument("--interval-ms", type=float, default=2.0)
    b.add_argument("--wait", type=float, default=0.3)
    b.set_defaults(fn=cmd_burst)

    rt = sub.add_parser("rtt")
    rt.add_argument("--port", type=int, required=True)
    rt.add_argument("--reflector", type=parse_addr, required=True)
    rt.add_argument("--count", type=int, default=10)
    rt.add_argument("--timeout", type=float, default=1.0)
    rt.set_defaults(fn=cmd_rtt)

    sn = sub.add_parser("sniff")
    sn.add_argument("--iface", required=True)
    sn.add_argument("--stop", required=True)
    sn.add_argument("--forbid", nargs="*", default=[])
    sn.add_argument("--forbid-ours", nargs="*", default=[])
    sn.add_argument("--max", type=float, default=120.0)
    sn.set_defaults(fn=cmd_sniff)

    args = p.parse_args()
    return args.fn(args)


if __name__ == "__main__":
    sys.exit(main())
