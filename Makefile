# ringseed: one non-recursive Makefile.
#
#   make              build bin/ringseed
#   make test         build and run every test; ends with "N passed, M failed"
#   make SAN=1 test   the same under AddressSanitizer + UndefinedBehaviorSanitizer
#   make deps         install the Debian packages needed to build and test
#   make check-deps   fail when an #include crosses the direction in DESIGN.md
#   make fuzz         build the libFuzzer targets (clang)
#
# Objects go to build/rel (build/san with SAN=1); the sanitized binary is
# build/san/bin/ringseed so that both builds can live side by side.

SAN ?= 0
CC ?= gcc
FUZZ_CC ?= clang
FUZZ_SECONDS ?= 30
PKGS := liburing libcrypto libcurl inih

ifeq ($(SAN),1)
O := build/san
BINDIR := $(O)/bin
SANFLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
OPT := -O1
else
O := build/rel
BINDIR := bin
SANFLAGS :=
OPT := -O2
endif

PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

WARN := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wvla
CFLAGS := -std=gnu11 $(OPT) -g $(WARN) -D_GNU_SOURCE -I. $(PKG_CFLAGS) $(SANFLAGS) $(EXTRA_CFLAGS)
LDFLAGS := $(SANFLAGS) $(EXTRA_LDFLAGS)
LDLIBS := $(PKG_LIBS) -lpthread -lhttp_parser

PROTO_SRC := $(wildcard proto/*.c)
CONF_SRC := $(wildcard conf/*.c)
IOCORE_SRC := $(wildcard iocore/*.c)
WORKER_SRC := $(wildcard worker/*.c)
MASTER_SRC := $(filter-out master/cmd/main.c,$(wildcard master/*/*.c))
LIB_SRC := $(PROTO_SRC) $(CONF_SRC) $(IOCORE_SRC) $(WORKER_SRC) $(MASTER_SRC)
LIB_OBJ := $(LIB_SRC:%.c=$(O)/%.o)
LIB := $(O)/libringseed.a

UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(O)/tests/%)

FUZZ_SRC := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BIN := $(FUZZ_SRC:tests/fuzz/%.c=build/fuzz/%)
FUZZ_FLAGS := -std=gnu11 -O1 -g -D_GNU_SOURCE -I. -fsanitize=fuzzer,address,undefined \
	-fno-sanitize-recover=all -Wall -Wextra -Werror

.PHONY: all test check-deps deps fuzz clean run install deb
.DEFAULT_GOAL := all

all: $(BINDIR)/ringseed

$(BINDIR)/ringseed: $(O)/master/cmd/main.o $(LIB)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(LIB): $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(O)/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -MMD -MP -c -o $@ $<

$(O)/tests/%: tests/unit/%.c $(LIB)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -MMD -MP -o $@ $< $(LIB) $(LDFLAGS) $(LDLIBS)

# The fuzz targets compile the proto sources they need themselves, with
# coverage instrumentation; proto/ depends on libcrypto only.
build/fuzz/%: tests/fuzz/%.c $(PROTO_SRC) $(wildcard proto/*.h tests/fuzz/*.h)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_FLAGS) -o $@ $< $(PROTO_SRC) $(shell pkg-config --libs libcrypto)

# The admin endpoint's parser and renderers: http-parser underneath.
ADMIN_FUZZ_SRC := master/admin/admin_http.c master/admin/admin_render.c
build/fuzz/fuzz_admin: tests/fuzz/fuzz_admin.c $(ADMIN_FUZZ_SRC) master/admin/admin.h tests/fuzz/fuzz.h
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_FLAGS) -o $@ $< $(ADMIN_FUZZ_SRC) -lhttp_parser

# What the fetcher does with a peer's bytes: its peer and picker files, the
# proto sources and the logger underneath (fetch.c's part is stubbed there).
FETCH_FUZZ_SRC := master/fetch/fetch_peer.c master/fetch/fetch_pex.c master/fetch/fetch_pick.c \
	master/fetch/fetch_up.c master/fetch/fetch_choke.c iocore/log.c
build/fuzz/fuzz_fetch_peer: tests/fuzz/fuzz_fetch_peer.c $(FETCH_FUZZ_SRC) $(PROTO_SRC) \
		$(wildcard master/fetch/*.h proto/*.h) tests/fuzz/fuzz.h
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_FLAGS) -o $@ $< $(FETCH_FUZZ_SRC) $(PROTO_SRC) $(shell pkg-config --libs libcrypto)

fuzz: $(FUZZ_BIN)

# Fuzz targets are built only where clang can; the runner reports them as
# skipped (with the reason) where it cannot.
HAVE_FUZZ_CC := $(shell command -v $(FUZZ_CC) >/dev/null 2>&1 && echo 1)
TEST_FUZZ := $(if $(HAVE_FUZZ_CC),$(FUZZ_BIN))

test: $(BINDIR)/ringseed $(UNIT_BIN) $(TEST_FUZZ)
	@RINGSEED=$(CURDIR)/$(BINDIR)/ringseed UNIT_DIR=$(O)/tests FUZZ_DIR=build/fuzz \
		FUZZ_SECONDS=$(FUZZ_SECONDS) LOG_DIR=$(O)/test-logs SAN=$(SAN) \
		tests/run-tests.sh $(TESTS)

check-deps:
	@tests/check-deps.sh .

deps:
	tests/install-deps.sh

# make run: a demo release (64 MiB of random data and a README), its .torrent
# announcing to the built-in tracker, and the seeder serving it in the
# foreground on 0.0.0.0:6881 with that tracker on port 6969 (HTTP and UDP).
# The content lives under build/demo and is made once; the .torrent is made
# again each time (same content, same info-hash).
DEMO := $(CURDIR)/build/demo
DEMO_TORRENT := $(DEMO)/torrents/ringseed-demo.torrent
run: $(BINDIR)/ringseed
	@mkdir -p $(DEMO)/data/ringseed-demo $(DEMO)/torrents $(DEMO)/state
	@test -f $(DEMO)/data/ringseed-demo/release.bin || \
		head -c 64M /dev/urandom > $(DEMO)/data/ringseed-demo/release.bin
	@test -f $(DEMO)/data/ringseed-demo/README.txt || \
		echo "ringseed demo release" > $(DEMO)/data/ringseed-demo/README.txt
	@$(BINDIR)/ringseed create -q $(DEMO)/data/ringseed-demo -o $(DEMO_TORRENT) \
		-a http://127.0.0.1:6969/announce -a udp://127.0.0.1:6969 >/dev/null
	@echo
	@echo "Seeding $(DEMO_TORRENT)"
	@echo "on 0.0.0.0:6881, with the built-in tracker on 0.0.0.0:6969 (Ctrl-C stops)."
	@echo "Download it from another shell with any client, e.g.:"
	@echo "  aria2c --seed-time=0 --dir /tmp/ringseed-dl $(DEMO_TORRENT)"
	@echo "and watch it with: $(BINDIR)/ringseed status  (or curl 127.0.0.1:9881/metrics)"
	@echo "  transmission-cli has no way to reach a peer on 127.0.0.1 it learns from a"
	@echo "  tracker (it drops loopback peers); from another host, rewrite the tracker URL."
	@echo
	$(BINDIR)/ringseed serve -u "$$(id -un)" --listen 0.0.0.0:6881 --tracker-listen 0.0.0.0:6969 \
		--torrents $(DEMO)/torrents --data $(DEMO)/data --state $(DEMO)/state

# --- make install, make deb ----------------------------------------------------
# install: the binary, the sample configuration (never over an existing one),
# the systemd unit, sysusers.d and tmpfiles.d entries, ringseed(8) and
# ringseed.conf(5), the latter written from the key table by the binary.
# deb: the same install under /usr, turned into a .deb by dpkg-deb
# (contrib/debian/build-deb.sh); DEB_OUT says where it goes.
PREFIX ?= /usr/local
SYSCONFDIR ?= /etc
UNITDIR ?= $(PREFIX)/lib/systemd/system
MANDIR ?= $(PREFIX)/share/man
VERSION := $(shell sed -n 's/^\#define RINGSEED_VERSION "\(.*\)"/\1/p' conf/conf.h)
DEB_OUT ?= build/deb
GEN := build/gen

$(GEN)/ringseed.conf.5: $(BINDIR)/ringseed
	@mkdir -p $(@D)
	$(BINDIR)/ringseed print-config --man >$@

$(GEN)/ringseed.8: contrib/ringseed.8 conf/conf.h
	@mkdir -p $(@D)
	sed 's/@VERSION@/$(VERSION)/' $< >$@

$(GEN)/ringseed.service: contrib/ringseed.service.in FORCE
	@mkdir -p $(@D)
	sed -e 's|@BINDIR@|$(PREFIX)/bin|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' $< >$@

.PHONY: FORCE
FORCE:

install: $(BINDIR)/ringseed $(GEN)/ringseed.conf.5 $(GEN)/ringseed.8 $(GEN)/ringseed.service
	install -D -m 0755 $(BINDIR)/ringseed $(DESTDIR)$(PREFIX)/bin/ringseed
	test -e $(DESTDIR)$(SYSCONFDIR)/ringseed/ringseed.conf || \
		install -D -m 0644 conf/ringseed.conf $(DESTDIR)$(SYSCONFDIR)/ringseed/ringseed.conf
	install -D -m 0644 $(GEN)/ringseed.service $(DESTDIR)$(UNITDIR)/ringseed.service
	install -D -m 0644 contrib/ringseed.sysusers $(DESTDIR)$(PREFIX)/lib/sysusers.d/ringseed.conf
	install -D -m 0644 contrib/ringseed.tmpfiles $(DESTDIR)$(PREFIX)/lib/tmpfiles.d/ringseed.conf
	install -D -m 0644 $(GEN)/ringseed.8 $(DESTDIR)$(MANDIR)/man8/ringseed.8
	install -D -m 0644 $(GEN)/ringseed.conf.5 $(DESTDIR)$(MANDIR)/man5/ringseed.conf.5

deb: $(BINDIR)/ringseed
	rm -rf build/deb-root
	$(MAKE) --no-print-directory install DESTDIR=$(CURDIR)/build/deb-root PREFIX=/usr \
		UNITDIR=/lib/systemd/system
	contrib/debian/build-deb.sh $(CURDIR)/build/deb-root $(VERSION) $(DEB_OUT)

clean:
	rm -rf build bin

-include $(shell find build -name '*.d' -type f 2>/dev/null)


# --- ringseed-bench: the load generator (bench/, see bench/README.md) ---------
# Its own objects plus the project library; `make` and `make test` build it
# (tests/e2e/bench_*.sh run it next to $(BINDIR)/ringseed: smoke, http, the
# loads in bench_modes, and the scripts counts.sh, wan.sh and crowd.sh).
BENCH_SRC := $(wildcard bench/*.c)
BENCH_OBJ := $(BENCH_SRC:%.c=$(O)/%.o)

all: $(BINDIR)/ringseed-bench
test: $(BINDIR)/ringseed-bench

$(BINDIR)/ringseed-bench: $(BENCH_OBJ) $(LIB)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $(BENCH_OBJ) $(LIB) $(LDLIBS)

# ringseed-tracker-bench: announces per second of a tracker, HTTP and UDP
# (bench/tracker/, see bench/README.md); a program of its own, on proto/.
TBENCH_SRC := $(wildcard bench/tracker/*.c)
TBENCH_OBJ := $(TBENCH_SRC:%.c=$(O)/%.o)

all: $(BINDIR)/ringseed-tracker-bench
test: $(BINDIR)/ringseed-tracker-bench

$(BINDIR)/ringseed-tracker-bench: $(TBENCH_OBJ) $(LIB)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $(TBENCH_OBJ) $(LIB) $(LDLIBS)

# --- make bench: ringseed side by side with other seeders ---------------------
# See "make bench: the comparison" in bench/README.md: every seeder under the
# trickle, burst, capped, mixed and WAN loads, the RC4, MSE-openings, v2 and
# 10,000-connection rows, the real-client crowd and the hashing speeds,
# unattended in about 25 minutes by its own estimate (BENCH_DRY=1
# bench/compare/run.sh prints it). bench-deps installs the seeders it
# compares against (Debian packages, non-interactively).
.PHONY: bench bench-cold bench-deps
bench: all
	bench/compare/run.sh

# bench/cold.sh: the same seeders on a 16 GiB data set evicted from the page
# cache before each run (bench/README.md, "Cold content"); about 10 minutes
# the first time (it makes and hashes the data set), then about 5.
bench-cold: all
	bench/cold.sh

bench-deps:
	bench/install-deps.sh
