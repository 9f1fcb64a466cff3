# kerio-migrate: the README's two commands are `make demo` and `make test`.
CARGO ?= cargo
DEMO_OUT ?= target/demo-maildir

.PHONY: all build release demo test check fmt clippy bench fuzz clean

all: build

build:
	$(CARGO) build

release:
	$(CARGO) build --release

# Migrate the bundled sample-store into a Maildir under target/ and print the report.
# A fresh run each time (the Maildir and its journal are removed first).
demo: release
	rm -rf $(DEMO_OUT)
	./target/release/kerio-migrate scan sample-store
	./target/release/kerio-migrate migrate sample-store --to maildir:$(DEMO_OUT) --report $(DEMO_OUT).report.json; \
	  rc=$$?; echo "(exit code $$rc: 3 means some items were reported as failed; see above)"; \
	  [ $$rc -eq 0 ] || [ $$rc -eq 3 ]

# Every test: unit, integration (real Dovecot and Radicale on loopback, started
# by the tests themselves), corpus. Installs nothing: see tests/harness/ci-install.sh.
test:
	$(CARGO) test --all-targets -- --test-threads=$${TEST_THREADS:-2}

check: fmt clippy

fmt:
	$(CARGO) fmt --check

clippy:
	$(CARGO) clippy --all-targets -- -D warnings

# Ingest benchmark against mbsync, loopback and 50 ms RTT (needs the shared corpus,
# Dovecot and isync: tests/harness/ci-install.sh). Results in target/bench/.
bench:
	bash bench/run.sh

# Fuzz every parser that reads untrusted bytes for FUZZ_SECONDS each (default 60;
# needs a nightly toolchain and cargo-fuzz). Not in CI. Table in target/fuzz/report.md.
fuzz:
	bash fuzz/run.sh

clean:
	$(CARGO) clean
