# Makefile for edge_crdt: PGXS build of the extension, plus the entry points
# a user types (make test, make demo) that work before PostgreSQL's
# development files are installed.

MODULE_big = edge_crdt
EXTENSION = edge_crdt
PGFILEDESC = "edge_crdt - CRDT replication for edge PostgreSQL regions"

# Every C file under src/ and replicator/ belongs to the one shared library;
# the data flow (capture -> wire -> replicator -> types) lives in the layout.
SRCS = $(sort $(wildcard src/*.c src/*/*.c replicator/*.c))
OBJS = $(SRCS:.c=.o)

# The install script is assembled from one fragment per module, in order.
INSTALL_FRAGMENTS = $(sort $(wildcard sql/install/*.sql))
DATA_built = sql/edge_crdt--0.1.sql

PG_CPPFLAGS = -I$(srcdir)/src/include -I$(includedir)
SHLIB_LINK = $(libpq)

# The suites run against temporary instances: they need shared_preload_libraries
# and wal_level = logical, which an existing server may not have.
TEST_CONF = $(srcdir)/test/edge_crdt.conf
REGRESS = init $(sort $(filter-out init edge_crdt--%,$(notdir $(basename $(wildcard $(srcdir)/sql/*.sql)))))
REGRESS_OPTS = --temp-instance=tmp_check_regress --temp-config=$(TEST_CONF)
ISOLATION = $(sort $(notdir $(basename $(wildcard $(srcdir)/test/specs/*.spec))))
ISOLATION_OPTS = --inputdir=$(srcdir)/test --temp-instance=tmp_check_iso --temp-config=$(TEST_CONF)
TAP_TESTS = 1
PROVE_TESTS = test/t/*.pl
NO_INSTALLCHECK_DEFAULT_DB = 1

EXTRA_CLEAN = tmp_check_regress tmp_check_iso output_iso results regression.diffs \
	regression.out test/prop/bin test/fuzz/bin

PG_CONFIG ?= $(firstword $(wildcard /usr/lib/postgresql/15/bin/pg_config) pg_config)
PGXS := $(shell $(PG_CONFIG) --pgxs 2>/dev/null)

.PHONY: test demo demo-stop prop fuzz

ifneq ($(PGXS),)
include $(PGXS)

$(DATA_built): $(INSTALL_FRAGMENTS)
	cat $^ > $@

$(OBJS): $(wildcard $(srcdir)/src/include/edge_crdt/*.h)

# Backend-independent type cores, built natively for the property tests and
# with clang's libFuzzer for the fuzz targets.
CORE_SRCS = $(sort $(wildcard $(srcdir)/src/*/*_core.c))
PROP_SRCS = $(sort $(wildcard $(srcdir)/test/prop/*_prop.c))
FUZZ_SRCS = $(sort $(wildcard $(srcdir)/test/fuzz/*_fuzz.c))
NATIVE_CFLAGS = -std=c11 -O1 -g -Wall -Wextra -Wno-unused-parameter \
	-I$(srcdir)/src/include -I$(srcdir)/test/prop

prop: $(PROP_SRCS:$(srcdir)/test/prop/%.c=test/prop/bin/%)
	@set -e; for t in $^; do echo "+++ $$t"; ./$$t; done

test/prop/bin/%: $(srcdir)/test/prop/%.c $(CORE_SRCS) $(wildcard $(srcdir)/src/include/edge_crdt/*.h) $(srcdir)/test/prop/prop.h
	@mkdir -p $(dir $@)
	$(CC) $(NATIVE_CFLAGS) -fsanitize=address,undefined -fno-sanitize-recover=all \
		-o $@ $< $(CORE_SRCS)

# FUZZ_SECONDS bounds each target; FUZZ_RUNS=-1 with a large FUZZ_SECONDS
# runs long (see README).
FUZZ_SECONDS ?= 10
fuzz: $(FUZZ_SRCS:$(srcdir)/test/fuzz/%.c=test/fuzz/bin/%)
	@set -e; for t in $^; do \
		name=$$(basename $$t); corpus=test/fuzz/bin/corpus-$$name; \
		mkdir -p $$corpus; \
		echo "+++ fuzz $$name for $(FUZZ_SECONDS)s"; \
		if ! ./$$t -max_total_time=$(FUZZ_SECONDS) -max_len=4096 -print_final_stats=1 \
			$$corpus $(srcdir)/test/fuzz/seeds/$$name > $$t.log 2>&1; then \
			tail -n 40 $$t.log; echo "fuzz target $$name failed"; exit 1; \
		fi; \
		grep -E '^Done [0-9]+ runs|^stat::number_of_executed_units' $$t.log; \
	done

test/fuzz/bin/%: $(srcdir)/test/fuzz/%.c $(CORE_SRCS) $(wildcard $(srcdir)/src/include/edge_crdt/*.h)
	@mkdir -p $(dir $@)
	clang -g -O1 -I$(srcdir)/src/include -fsanitize=fuzzer,address,undefined \
		-fno-sanitize-recover=all -o $@ $< $(CORE_SRCS)
else
all install installcheck:
	@echo "PostgreSQL development files not found (pg_config: $(PG_CONFIG))."
	@echo "Run 'make test' (it installs them) or: apt-get install postgresql-server-dev-15"
	@exit 1
endif

# The README's commands.  They install what is missing first, so they must
# not depend on PGXS being present (and must never be the default goal).
test:
	./test/run_all.sh

demo:
	./test/tools/demo.sh start

demo-stop:
	./test/tools/demo.sh stop
