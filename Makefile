# xiaoer - see README.md.  `make run` and `make test` are the two commands.
PKGS   := libwebsockets jansson libpcre2-8 sqlite3 libcrypto
APT    := libwebsockets-dev libjansson-dev libpcre2-dev libsqlite3-dev \
          libssl-dev pkg-config sqlite3 libev-dev libwebsockets-evlib-ev
# For `make test` and `make fuzz` only: libFuzzer is clang's (gcc has none).
APT_FUZZ := clang libclang-rt-14-dev
CSTD   := -std=c11 -D_POSIX_C_SOURCE=200809L
WARN   := -Wall -Wextra -Werror -Wpedantic -Wshadow -Wstrict-prototypes \
          -Wmissing-prototypes -Wformat=2 -Wundef -Wvla \
          -Werror=implicit-function-declaration
OPT    ?= -O2 -g
BUILD  ?= build
SAN    ?=
CONF   ?= deploy/xiaoer.conf

# libev has no .pc file: look for its header and for lws's libev plugin.
HAVE_PKGS := $(shell pkg-config --exists '$(PKGS)' 2>/dev/null && \
               pkg-config --atleast-version=4.1 libwebsockets && \
               [ -f /usr/include/ev.h ] && \
               [ -f "$$(pkg-config --variable=libdir libwebsockets)/libwebsockets-evlib_ev.so" ] && \
               echo yes)
HAVE_FUZZ := $(shell [ -f "$$(clang -print-resource-dir 2>/dev/null)/lib/linux/libclang_rt.fuzzer-x86_64.a" ] && \
               echo yes)
ifeq ($(HAVE_PKGS),yes)
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS))
PKG_LIBS   := $(shell pkg-config --libs $(PKGS))
endif

CFLAGS  += $(CSTD) $(WARN) $(OPT) $(PKG_CFLAGS)
LDLIBS  += $(PKG_LIBS) -lev -lpthread -lm
ifneq ($(SAN),)
CFLAGS  += -fsanitize=$(SAN) -fno-sanitize-recover=all -fno-omit-frame-pointer
LDFLAGS += -fsanitize=$(SAN)
endif
# FUZZ=1 (with CC=clang): coverage for libFuzzer, see `make fuzz`.
ifneq ($(FUZZ),)
CFLAGS  += -fsanitize=fuzzer-no-link
endif

SRC      := $(wildcard bot/*.c)
OBJ      := $(SRC:%.c=$(BUILD)/%.o)
LIBOBJ   := $(filter-out $(BUILD)/bot/main.o,$(OBJ))
TSRC     := $(wildcard tests/test_*.c) tests/unit.c tests/protodiff.c \
            tests/matchdiff.c
TOBJ     := $(TSRC:%.c=$(BUILD)/%.o)
WSOBJ    := $(BUILD)/tests/ws_transcript.o $(BUILD)/tests/wsclient.o \
            $(BUILD)/tests/wsframe.o
WSBIN    := $(if $(wildcard tests/ws_transcript.c),$(BUILD)/tests/ws_transcript)
EVOBJ    := $(BUILD)/tests/eval.o $(BUILD)/tests/evalmetrics.o
BENCHOBJ := $(BUILD)/tests/bench/loadgen.o $(BUILD)/tests/bench/echo.o \
            $(BUILD)/tests/bench/texts.o \
            $(BUILD)/tests/bench/matchbench.o
BENCHOBJ += $(BUILD)/tests/bench/storebench.o $(BUILD)/tests/bench/jitter.o
BENCHBIN := $(BUILD)/bench/loadgen $(BUILD)/bench/echo \
            $(BUILD)/bench/matchbench
BENCHBIN += $(BUILD)/bench/storebench $(BUILD)/bench/jitter
# The libFuzzer harnesses (tests/fuzz/), built with clang into build-fuzz.
FUZZOBJ  := $(BUILD)/tests/fuzz/fuzz_protocol.o $(BUILD)/tests/fuzz/fuzz_turn.o \
            $(BUILD)/tests/protodiff.o $(BUILD)/tests/matchdiff.o
FUZZDIR  := build-fuzz
FUZZBIN  := $(FUZZDIR)/fuzz/protocol $(FUZZDIR)/fuzz/turn
FUZZMAKE  = $(MAKE) --no-print-directory BUILD=$(FUZZDIR) CC=clang \
            SAN=address,undefined FUZZ=1 OPT="-O1 -g"
FUZZ_SECONDS ?= 300

.PHONY: all deps run test check asan valgrind lint format check-data \
        bench eval fuzz fuzz-deps install clean

all: deps $(BUILD)/xiaoer

# apt-get install $(1), as root or with sudo.
define apt_install
	@echo "xiaoer: installing $(1)"; \
	SUDO=; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	$$SUDO apt-get update -qq && \
	DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $(1) \
	  >/dev/null || { echo "xiaoer: apt-get install $(1) failed" >&2; exit 1; }
endef

# Install the build dependencies, only when pkg-config cannot find them.
deps:
ifneq ($(HAVE_PKGS),yes)
	$(call apt_install,$(APT))
endif
	@pkg-config --atleast-version=4.1 libwebsockets || { \
	  echo "xiaoer: libwebsockets >= 4.1 is missing: apt-get install $(APT)" >&2; exit 1; }

# And clang's libFuzzer for the fuzz harnesses.
fuzz-deps: deps
ifneq ($(HAVE_FUZZ),yes)
	$(call apt_install,$(APT_FUZZ))
endif

$(BUILD)/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -MMD -MP -c -o $@ $<

# Sub-makes after `deps` so that pkg-config flags are read afresh.
$(BUILD)/xiaoer: $(OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/unit: $(TOBJ) $(BUILD)/tests/evalmetrics.o $(LIBOBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/eval: $(EVOBJ) $(LIBOBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/ws_transcript: $(WSOBJ) $(BUILD)/bot/util.o $(BUILD)/bot/text.o
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# The load client and the lws echo baseline of `make bench`.
$(BUILD)/bench/loadgen: $(BUILD)/tests/bench/loadgen.o \
                        $(BUILD)/tests/bench/texts.o \
                        $(BUILD)/tests/wsframe.o $(BUILD)/bot/util.o
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/bench/echo: $(BUILD)/tests/bench/echo.o
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# How late the machine wakes a sleeping thread: the floor under latency.
$(BUILD)/bench/jitter: $(BUILD)/tests/bench/jitter.o $(BUILD)/bot/util.o
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# What one message costs the decision core (matching, full turn), in µs.
$(BUILD)/bench/matchbench: $(BUILD)/tests/bench/matchbench.o \
                           $(BUILD)/tests/bench/texts.o $(LIBOBJ)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# The SQLite writer alone, driven as the server drives it.
$(BUILD)/bench/storebench: $(BUILD)/tests/bench/storebench.o \
                           $(BUILD)/tests/bench/texts.o $(LIBOBJ)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# A harness: libFuzzer's main(), the bot's objects, the shared oracles.
$(BUILD)/fuzz/protocol: $(BUILD)/tests/fuzz/fuzz_protocol.o \
                        $(BUILD)/tests/protodiff.o $(LIBOBJ)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -fsanitize=fuzzer -o $@ $^ $(LDLIBS)

$(BUILD)/fuzz/turn: $(BUILD)/tests/fuzz/fuzz_turn.o \
                    $(BUILD)/tests/matchdiff.o $(LIBOBJ)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -fsanitize=fuzzer -o $@ $^ $(LDLIBS)

-include $(OBJ:.o=.d) $(TOBJ:.o=.d) $(WSOBJ:.o=.d) $(EVOBJ:.o=.d) \
         $(BENCHOBJ:.o=.d) $(FUZZOBJ:.o=.d)

run: deps
	@$(MAKE) --no-print-directory $(BUILD)/xiaoer
	@mkdir -p var
	./$(BUILD)/xiaoer serve -c $(CONF)

test check: fuzz-deps
	@$(MAKE) --no-print-directory $(BUILD)/xiaoer $(BUILD)/tests/unit \
	  $(WSBIN) $(BUILD)/bench/loadgen
	@$(FUZZMAKE) $(FUZZBIN)
	@BUILD=$(BUILD) FUZZ_BUILD=$(FUZZDIR) sh tests/run.sh

# The fuzzers for FUZZ_SECONDS (300) in all; the corpus is kept between runs.
fuzz: fuzz-deps
	@$(FUZZMAKE) $(FUZZBIN)
	@FUZZ_BUILD=$(FUZZDIR) sh tests/fuzz/run.sh long $(FUZZ_SECONDS)

# The evaluation report over tests/corpus/ (a report: exits 0 on misses).
eval: deps
	@$(MAKE) --no-print-directory $(BUILD)/tests/eval
	./$(BUILD)/tests/eval

# The benchmark report (tests/bench/README.md): exits 0 on misses.
bench: deps
	@$(MAKE) --no-print-directory $(BUILD)/xiaoer $(BENCHBIN)
	@BUILD=$(BUILD) sh tests/bench/bench.sh

asan:
	$(MAKE) BUILD=build-asan SAN=address,undefined OPT="-O1 -g" check

# The unit tests, `xiaoer check`, and the server itself under load (100
# buyers, a reload in the middle, SIGTERM) on both event loops.
valgrind:
	$(MAKE) BUILD=build-vg OPT="-O0 -g" build-vg/tests/unit build-vg/xiaoer
	@$(MAKE) --no-print-directory $(BUILD)/bench/loadgen
	valgrind -q --error-exitcode=1 --leak-check=full build-vg/tests/unit
	valgrind -q --error-exitcode=1 --leak-check=full \
	  build-vg/xiaoer check -c $(CONF)
	VALGRIND=1 XIAOER=build-vg/xiaoer BUILD=$(BUILD) EVENT_LOOP=libev \
	  sh tests/bench/smoke.sh
	VALGRIND=1 XIAOER=build-vg/xiaoer BUILD=$(BUILD) EVENT_LOOP=poll \
	  sh tests/bench/smoke.sh

lint:
	cppcheck -q --enable=warning,performance,portability --error-exitcode=1 \
	  --inline-suppr -I bot bot tests
	clang-format --dry-run --Werror bot/*.[ch] tests/*.[ch] tests/bench/*.[ch] \
	  tests/fuzz/*.[ch]

format:
	clang-format -i bot/*.[ch] tests/*.[ch] tests/bench/*.[ch] tests/fuzz/*.[ch]

check-data: all
	./$(BUILD)/xiaoer check -c $(CONF)

PREFIX  ?= /usr/local
DESTDIR ?=
SHARE   := $(DESTDIR)$(PREFIX)/share/xiaoer

# Binary, content and static files under PREFIX; the config in /etc with
# its paths pointed at them; the systemd unit.
install: all
	install -D -m 0755 $(BUILD)/xiaoer $(DESTDIR)$(PREFIX)/bin/xiaoer
	mkdir -p $(SHARE)/intents $(SHARE)/scripts-zh $(SHARE)/www
	install -m 0644 intents/*.json $(SHARE)/intents/
	install -m 0644 scripts-zh/*.json $(SHARE)/scripts-zh/
	cp -R bot/www/. $(SHARE)/www/
	install -D -m 0644 deploy/xiaoer.service \
	  $(DESTDIR)/etc/systemd/system/xiaoer.service
	sed -i 's|/usr/local/bin/xiaoer|$(PREFIX)/bin/xiaoer|' \
	  $(DESTDIR)/etc/systemd/system/xiaoer.service
	@if [ ! -f $(DESTDIR)/etc/xiaoer/xiaoer.conf ]; then \
	  install -D -m 0640 deploy/xiaoer.conf $(DESTDIR)/etc/xiaoer/xiaoer.conf; \
	  sed -i -e 's|^db .*|db /var/lib/xiaoer/xiaoer.db|' \
	    -e 's|^content .*|content $(PREFIX)/share/xiaoer|' \
	    -e 's|^www .*|www $(PREFIX)/share/xiaoer/www|' \
	    $(DESTDIR)/etc/xiaoer/xiaoer.conf; \
	fi

clean:
	rm -rf build build-*
