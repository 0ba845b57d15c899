"""bdecode.py - bencoding (BEP 3) read back, for the tests' Python peers and
trackers: trusted input only (what ringseed or a test wrote), so errors are
Python's own exceptions, not a parser's verdict (proto/bencode.c is that).

    bdecode(b, i=0)  -> (value, end): the value starting at b[i]
    info_bytes(raw)  -> the .torrent's info dictionary as the file has it,
                        the bytes its info-hash is taken over
"""


def bdecode(b, i=0):
    c = b[i:i + 1]
    if c == b"i":
        j = b.index(b"e", i)
        return int(b[i + 1:j]), j + 1
    if c == b"l":
        out, i = [], i + 1
        while b[i:i + 1] != b"e":
            v, i = bdecode(b, i)
            out.append(v)
        return out, i + 1
    if c == b"d":
        out, i = {}, i + 1
        while b[i:i + 1] != b"e":
            k, i = bdecode(b, i)
            out[k], i = bdecode(b, i)
        return out, i + 1
    j = b.index(b":", i)
    n = int(b[i:j])
    return b[j + 1:j + 1 + n], j + 1 + n


def info_bytes(raw):
    i = 1  # past the top-level "d"
    while raw[i:i + 1] != b"e":
        k, i = bdecode(raw, i)
        start = i
        _, i = bdecode(raw, i)
        if k == b"info":
            return raw[start:i]
    raise KeyError("no info dictionary")
