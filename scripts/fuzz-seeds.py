#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""fuzz-seeds.py [OUTDIR]

Writes the seed corpora of the fuzz targets into OUTDIR (default
tests/fuzz/corpus), one folder per target. Each seed is a valid input of the
layout described at the top of the target's source, holding well-formed
chains of a different shape, so the fuzzer starts from requests the device
accepts and mutates from there. The output is deterministic; the generated
files are committed. Files named regress-* in the same folders are not made
here: they are minimized inputs of past findings, kept so every fuzz run
replays them first.
"""
import os
import struct
import sys

F_INDIRECT, F_EVENT_IDX, F_TWO_WIN, F_ADJACENT = 1, 2, 4, 8
F_SET_BASE, F_NOTIFY_OFF = 32, 64
OP_FLUSH_EACH, OP_PUSH_ALL, OP_ENABLE, OP_DISABLE, OP_REVERSE, OP_CHECK = 1, 2, 4, 8, 16, 32

D_NEXT, D_WRITE, D_INDIRECT = 1, 2, 4
D_AVAIL, D_USED = 1 << 7, 1 << 15


def header(qbyte, flags, cap, extra0, len1=0, base=0, acc=0, fill=0x5A, rounds=()):
    """The 40-byte header shared by fuzz_split and fuzz_packed (default ring layout)."""
    h = struct.pack("<BBBBHHHBB", qbyte, flags, acc, cap, extra0, max(len1 - 1, 0), base,
                    fill, 0)
    h += struct.pack("<III", 0, 0, 0)
    r = list(rounds) + [(0, 0, 0)] * (4 - len(rounds))
    for delta, mask, ops in r:
        h += struct.pack("<HBB", delta, mask, ops)
    assert len(h) == 40
    return h


def desc(addr, length, flags, nxt):
    return struct.pack("<QIHH", addr, length, flags, nxt)


def pdesc(addr, length, buf_id, flags):
    return struct.pack("<QIHH", addr, length, buf_id, flags)


class Split:
    """A split ring in window 0 laid out like vio_drvq_init, data after it."""

    def __init__(self, size):
        self.size = size
        self.desc = [desc(0, 0, 0, 0)] * size
        self.avail = []
        self.avail_off = 16 * size
        self.used_off = (16 * size + 6 + 2 * size + 3) & ~3
        self.data_off = self.used_off + 6 + 8 * size
        self.data = bytearray()
        self.free = 0

    def buf(self, length, fill=0xA5):
        addr = self.data_off + len(self.data)
        self.data += bytes([fill]) * length
        self.data += bytes(-len(self.data) % 16)
        return addr

    def chain(self, segs):
        """segs: (length, writable); returns the head."""
        head = self.free
        for k, (length, wr) in enumerate(segs):
            i = self.free + k
            last = k + 1 == len(segs)
            flags = (0 if last else D_NEXT) | (D_WRITE if wr else 0)
            self.desc[i] = desc(self.buf(length), length, flags, 0 if last else i + 1)
        self.free += len(segs)
        self.avail.append(head)
        return head

    def indirect(self, segs):
        table = b""
        for k, (length, wr) in enumerate(segs):
            last = k + 1 == len(segs)
            flags = (0 if last else D_NEXT) | (D_WRITE if wr else 0)
            table += desc(self.buf(length), length, flags, 0 if last else k + 1)
        taddr = self.data_off + len(self.data)
        self.data += table
        head = self.free
        self.desc[head] = desc(taddr, len(table), D_INDIRECT, 0)
        self.free += 1
        self.avail.append(head)
        return head

    def image(self, idx=None, used_event=0):
        ring = bytearray(b"".join(self.desc))
        idx = len(self.avail) if idx is None else idx
        entries = (self.avail + [0] * self.size)[: self.size]
        ring += struct.pack("<HH", 0, idx) + struct.pack("<%dH" % self.size, *entries)
        ring += struct.pack("<H", used_event)
        ring += bytes(self.used_off - len(ring))
        ring += bytes(6 + 8 * self.size)
        return bytes(ring) + bytes(self.data)


def split_seeds():
    seeds = {}
    blk_read = [(16, False), (4096, True), (1, True)]
    blk_write = [(16, False), (512, False), (1, True)]

    r = Split(4)
    r.chain([(16, False)])
    seeds["one-desc"] = header(2, 0, 8, len(r.data), rounds=[(0, 0xFF, OP_PUSH_ALL)]) + r.image()

    r = Split(8)
    r.chain(blk_read)
    r.chain(blk_write)
    seeds["blk-event-idx"] = header(3, F_EVENT_IDX, 16, len(r.data),
                                    rounds=[(0, 0x01, OP_PUSH_ALL | OP_FLUSH_EACH),
                                            (2, 0x00, OP_PUSH_ALL | OP_ENABLE)]) + r.image()

    r = Split(8)
    r.indirect(blk_read)
    r.indirect(blk_write)
    r.chain([(16, False), (8, True)])
    seeds["indirect"] = header(3, F_INDIRECT | F_EVENT_IDX, 4, len(r.data),
                               rounds=[(0, 0xFF, OP_CHECK), (3, 0x00, OP_PUSH_ALL)]) + r.image()

    r = Split(16)
    r.chain([(8, False)] * 10 + [(8, True)] * 6)
    seeds["long-chain-overflow"] = header(4, 0, 3, len(r.data),
                                          rounds=[(0, 0, OP_PUSH_ALL | OP_REVERSE)]) + r.image()

    r = Split(256)
    for _ in range(32):
        r.chain([(16, False)])
    seeds["size256-batch"] = header(8, F_EVENT_IDX | F_NOTIFY_OFF, 4, len(r.data),
                                    rounds=[(0, 0, OP_PUSH_ALL), (32, 0, OP_PUSH_ALL),
                                            (32, 0xFF, OP_ENABLE)]) + r.image()

    # Indices about to wrap: base 0xfffe, avail.idx 2 after the wrap.
    r = Split(4)
    for _ in range(2):
        r.chain([(16, False), (32, True)])
    r.avail = r.avail * 2
    seeds["index-wrap"] = header(2, F_SET_BASE | F_EVENT_IDX, 8, len(r.data), base=0xFFFE,
                                 rounds=[(0, 0x0F, OP_FLUSH_EACH), (4, 0, OP_PUSH_ALL)]) + \
        r.image(idx=2)

    # A writable buffer running from window 0 into an adjacent window 1.
    r = Split(4)
    r.chain([(16, False), (64, True)])
    img = bytearray(r.image())
    tail = r.data_off + len(r.data)
    img[16:32] = desc(tail - 32, 64, D_WRITE, 0)
    seeds["two-windows"] = header(2, F_TWO_WIN | F_ADJACENT, 8, len(r.data), len1=64,
                                  rounds=[(0, 0xFF, 0)]) + bytes(img) + bytes(64)
    return seeds


class Packed:
    """A packed ring in window 0: descriptors, driver event, device event, data."""

    def __init__(self, size):
        self.size = size
        self.desc = [pdesc(0, 0, 0, 0)] * size
        self.data_off = 16 * size + 8
        self.data = bytearray()
        self.pos = 0
        self.wrap = True
        self.next_id = 0

    def buf(self, length, fill=0xA5):
        addr = self.data_off + len(self.data)
        self.data += bytes([fill]) * length
        self.data += bytes(-len(self.data) % 16)
        return addr

    def _avail(self):
        return D_AVAIL if self.wrap else D_USED

    def chain(self, segs):
        buf_id = self.next_id
        self.next_id += 1
        for k, (length, wr) in enumerate(segs):
            last = k + 1 == len(segs)
            flags = (0 if last else D_NEXT) | (D_WRITE if wr else 0) | self._avail()
            self.desc[self.pos] = pdesc(self.buf(length), length, buf_id, flags)
            self.pos += 1
            if self.pos == self.size:
                self.pos, self.wrap = 0, not self.wrap

    def indirect(self, segs):
        table = b""
        for length, wr in segs:
            table += pdesc(self.buf(length), length, 0, D_WRITE if wr else 0)
        taddr = self.data_off + len(self.data)
        self.data += table
        self.desc[self.pos] = pdesc(taddr, len(table), self.next_id, D_INDIRECT | self._avail())
        self.next_id += 1
        self.pos += 1

    def image(self, event_flags=0, off_wrap=0):
        ring = b"".join(self.desc) + struct.pack("<HH", off_wrap, event_flags) + bytes(4)
        return ring + bytes(self.data)


def packed_seeds():
    seeds = {}
    blk_read = [(16, False), (4096, True), (1, True)]
    blk_write = [(16, False), (512, False), (1, True)]

    r = Packed(4)
    for _ in range(4):
        r.chain([(16, False)])
    seeds["one-desc"] = header(3, 0, 8, len(r.data),
                               rounds=[(0, 0xFF, 0), (4, 0xFF, OP_CHECK)]) + r.image()

    r = Packed(8)
    r.chain(blk_read)
    r.chain(blk_write)
    seeds["blk-event-idx"] = header(7, F_EVENT_IDX, 16, len(r.data),
                                    rounds=[(0, 0x01, OP_PUSH_ALL | OP_FLUSH_EACH),
                                            (6, 0x00, OP_PUSH_ALL | OP_ENABLE)]) + \
        r.image(event_flags=2, off_wrap=3)

    r = Packed(8)
    r.indirect(blk_read)
    r.indirect(blk_write)
    r.chain([(16, False), (8, True)])
    seeds["indirect"] = header(7, F_INDIRECT, 4, len(r.data),
                               rounds=[(0, 0xFF, 0), (4, 0, OP_PUSH_ALL)]) + r.image()

    r = Packed(3)
    r.chain([(16, False), (16, True)])
    seeds["odd-size-wrap"] = header(2, F_EVENT_IDX, 8, len(r.data),
                                    rounds=[(0, 0xFF, OP_FLUSH_EACH), (6, 0xFF, OP_FLUSH_EACH),
                                            (6, 0x00, OP_PUSH_ALL | OP_REVERSE)]) + \
        r.image(event_flags=2, off_wrap=1)

    r = Packed(256)
    for _ in range(64):
        r.chain([(16, False)])
    seeds["size256-laps"] = header(255, F_NOTIFY_OFF, 4, len(r.data),
                                   rounds=[(0, 0xFF, 0), (192, 0xFF, OP_CHECK),
                                           (256, 0xFF, OP_ENABLE), (256, 0xFF, 0)]) + r.image()

    # Start in the second lap (wrap counter 0) at index 5.
    r = Packed(8)
    r.pos, r.wrap = 5, False
    for _ in range(3):
        r.chain([(16, False), (32, True)])
    seeds["set-base-wrap0"] = header(7, F_SET_BASE | F_EVENT_IDX, 8, len(r.data), base=5,
                                     rounds=[(0, 0xFF, OP_FLUSH_EACH)]) + r.image()
    return seeds


B_INDIRECT, B_EVENT_IDX, B_RO, B_FLUSH, B_WCE, B_DISCARD, B_WZ, B_SEG_MAX = (1 << i for i in range(8))
T_IN, T_OUT, T_FLUSH, T_GET_ID, T_DISCARD, T_WZ = range(6)  # indices into the target's table
OP_ADD, OP_KICK, OP_RUN, OP_COMPLETE = range(4)


def blk_header(feat, sectors=16, qlog=4, slots=4, deferred=False, dwz_segs=2, seg_max=8,
               dwz_sectors=8, reset_at_end=False):
    mode = (1 if deferred else 0) | ((dwz_segs - 1) << 1) | ((seg_max - 1) << 4)
    return bytes([feat, sectors - 1, qlog, slots - 1, mode, dwz_sectors - 1,
                  1 if reset_at_end else 0])


def blk_req(type_idx, sector, out_lens, in_lens, indirect=False, payload=b""):
    """A well-formed header in the first readable segment, payload after it."""
    shape = len(out_lens) | (len(in_lens) << 3) | (0x40 if indirect else 0) | 0x80
    b = bytes([OP_ADD, shape])
    data = bytearray(payload)
    for k, n in enumerate(out_lens):
        b += struct.pack("<H", n)
        if k == 0:
            b += bytes([type_idx, sector])
            extra = max(n - 16, 0)
        else:
            extra = n
        b += bytes(data[:extra]) + bytes(max(extra - len(data), 0))
        del data[:extra]
    for n in in_lens:
        b += struct.pack("<H", n)
    return b


def blk_seeds():
    seeds = {}
    kick = bytes([OP_KICK])
    discard = struct.pack("<QII", 2, 4, 0) + struct.pack("<QII", 8, 2, 0)
    zeroes = struct.pack("<QII", 2, 4, 0) + struct.pack("<QII", 8, 2, 1)  # second one may unmap
    seeds["read"] = blk_header(B_FLUSH | B_SEG_MAX) + \
        blk_req(T_IN, 2, [16], [512, 1]) + blk_req(T_IN, 0, [16], [1024, 512, 1]) + kick
    seeds["write-flush"] = blk_header(B_FLUSH | B_WCE | B_EVENT_IDX) + \
        blk_req(T_OUT, 3, [16, 512], [1], payload=bytes(range(256)) * 2) + \
        blk_req(T_FLUSH, 0, [16], [1]) + kick
    seeds["discard-wz-deferred"] = blk_header(B_DISCARD | B_WZ | B_FLUSH, deferred=True) + \
        blk_req(T_DISCARD, 0, [16, 32], [1], payload=discard) + \
        blk_req(T_WZ, 0, [16, 32], [1], payload=zeroes) + \
        blk_req(T_GET_ID, 0, [16], [20, 1]) + kick + bytes([OP_COMPLETE, 1, OP_RUN]) + kick
    seeds["indirect"] = blk_header(B_INDIRECT | B_FLUSH) + \
        blk_req(T_IN, 1, [16], [512, 512, 1], indirect=True) + \
        blk_req(T_OUT, 5, [16, 1024], [1], indirect=True) + kick
    seeds["read-only"] = blk_header(B_RO, slots=1) + \
        blk_req(T_OUT, 0, [16, 512], [1]) + blk_req(T_IN, 0, [16], [512, 1]) + kick
    seeds["reset-in-flight"] = blk_header(B_FLUSH, deferred=True, reset_at_end=True) + \
        blk_req(T_IN, 0, [16], [512, 1]) + blk_req(T_OUT, 1, [16, 512], [1]) + kick
    return seeds


# fuzz_input: operations (op % 8) and their arguments, as the target's header describes.
I_EVBUF, I_STBUF, I_CFG, I_SEND, I_SIM, I_KICK, I_RESET, I_SYN = range(8)


def input_evbufs(n, extra=0):
    return bytes([I_EVBUF, 0x10 | extra]) * n


def input_status(etype, code, value, shape=0x10, lens=()):
    return bytes([I_STBUF]) + struct.pack("<HHi", etype, code, value) + bytes([shape] + list(lens))


def input_seeds():
    seeds = {}
    key_tap = bytes([I_SIM, 0, 30, 0, 0])
    seeds["keyboard"] = bytes([0, 15]) + input_evbufs(8) + key_tap + \
        bytes([I_CFG, 0, 2, 0x11, 0x01, I_CFG, 0, 1, 0x01]) + \
        input_status(0x11, 1, 1) + input_status(0x12, 1, 1) + \
        bytes([I_SIM, 3, 16, 0, 0, I_SIM, 1, 16, 0, 0]) + input_evbufs(4, 3) + bytes([I_KICK])
    seeds["touchscreen"] = bytes([7, 7]) + input_evbufs(12) + \
        bytes([I_SIM, 1, 0, 10, 20, I_SIM, 1, 1, 200, 100, I_SIM, 1, 0, 11, 20]) + \
        bytes([I_SIM, 0, 0, 0, 0]) + input_evbufs(12) + bytes([I_SIM, 0, 1, 0, 0]) + \
        bytes([I_CFG, 0, 2, 0x12, 0x35])
    sends = b"".join(bytes([I_SEND, 3]) + struct.pack("<Hi", c, 5) for c in range(4))
    seeds["backlog-full"] = bytes([0, 2]) + sends + bytes([I_SYN]) + sends[:14] + \
        bytes([I_SYN]) + input_evbufs(6) + bytes([I_RESET | 0xF0]) + sends[:7] + \
        bytes([I_SYN]) + input_evbufs(2)
    seeds["bad-buffers"] = bytes([1, 15]) + bytes([I_EVBUF, 0x05, 4, 4]) + key_tap + \
        bytes([I_RESET | 0xF0]) + input_status(0x11, 0, 1, shape=0x01, lens=[5]) + \
        bytes([I_RESET | 0xF0]) + input_status(0x11, 0, 1, shape=0x0b, lens=[3, 3, 2, 4])
    return seeds


def main():
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(root, "tests", "fuzz", "corpus")
    for target, seeds in (("fuzz_split", split_seeds()), ("fuzz_packed", packed_seeds()),
                          ("fuzz_blk", blk_seeds()), ("fuzz_input", input_seeds())):
        d = os.path.join(out, target)
        os.makedirs(d, exist_ok=True)
        for name, blob in seeds.items():
            with open(os.path.join(d, name), "wb") as f:
                f.write(blob)


if __name__ == "__main__":
    main()
