#!/usr/bin/python3
"""evict.py [--check] PATH...: drop files from the page cache.

Every regular file under each PATH is flushed (fdatasync: dirty pages are
not dropped) and advised POSIX_FADV_DONTNEED. Pages mapped by a process
stay. Prints one line: files, bytes, and bytes still resident afterwards
(mincore on a fresh mapping), so a caller can tell the eviction worked.
With --check nothing is evicted: only the resident bytes are counted.
"""
import ctypes
import mmap
import os
import sys

libc = ctypes.CDLL(None, use_errno=True)
libc.mmap.restype = ctypes.c_void_p
libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int,
                      ctypes.c_int, ctypes.c_long]
libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
libc.mincore.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_char_p]
PAGE = mmap.PAGESIZE
CHUNK = 1 << 30  # mincore over at most this much at a time


def resident(fd, size):
    """Bytes of the file's first size bytes that are in the page cache."""
    if size == 0:
        return 0
    base = libc.mmap(None, size, mmap.PROT_READ, mmap.MAP_SHARED, fd, 0)
    if base in (None, ctypes.c_void_p(-1).value):
        raise OSError(ctypes.get_errno(), "mmap")
    try:
        n = 0
        for off in range(0, size, CHUNK):
            length = min(CHUNK, size - off)
            vec = ctypes.create_string_buffer((length + PAGE - 1) // PAGE)
            if libc.mincore(base + off, length, vec) != 0:
                raise OSError(ctypes.get_errno(), "mincore")
            n += sum(b & 1 for b in vec.raw)
        return min(n * PAGE, size)
    finally:
        libc.munmap(base, size)


def files(paths):
    for p in paths:
        if os.path.isdir(p):
            for root, _, names in os.walk(p):
                for name in sorted(names):
                    yield os.path.join(root, name)
        else:
            yield p


def main():
    args = sys.argv[1:]
    check = bool(args) and args[0] == "--check"
    if check:
        args = args[1:]
    if not args:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    count = total = left = 0
    for path in files(args):
        fd = os.open(path, os.O_RDONLY)
        try:
            size = os.fstat(fd).st_size
            if not check:
                os.fdatasync(fd)
                os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            left += resident(fd, size)
        finally:
            os.close(fd)
        count += 1
        total += size
    print("files=%d bytes=%d resident=%d" % (count, total, left))
    return 0


if __name__ == "__main__":
    sys.exit(main())
