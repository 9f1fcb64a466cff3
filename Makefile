# kerio-migrate: the README's two commands are `make demo` and `make test`.
CARGO ?= cargo
DEMO_OUT ?= target/demo-maildir

.PHONY: all build release demo test check fmt clippy bench bench-readme fuzz clean deb

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

# Benchmark table, every figure a ratio from the same run (needs the shared corpus,
# Dovecot, isync and /usr/bin/time: tests/harness/ci-install.sh). Results in target/bench/;
# bench-readme also writes the table into the README's Performance section.
bench:
	bash bench/run.sh

bench-readme:
	BENCH_README=1 bash bench/run.sh

# Fuzz every parser that reads untrusted bytes for FUZZ_SECONDS each (default 60;
# needs a nightly toolchain and cargo-fuzz). Not in CI. Table in target/fuzz/report.md.
fuzz:
	bash fuzz/run.sh

# Debian package (cargo-deb, see tests/harness/ci-install.sh) from the release build:
# the binary stripped, its symbols in target/debian/kerio-migrate.debug beside the .deb,
# man pages and bash/zsh/fish completions generated from the clap definitions,
# README and docs/.
DEB_STAGE := target/deb-stage
deb: release
	rm -rf $(DEB_STAGE) && mkdir -p $(DEB_STAGE)/man $(DEB_STAGE)/completions target/debian
	objcopy --only-keep-debug target/release/kerio-migrate $(DEB_STAGE)/kerio-migrate.debug
	objcopy --strip-all --add-gnu-debuglink=$(DEB_STAGE)/kerio-migrate.debug \
	  target/release/kerio-migrate $(DEB_STAGE)/kerio-migrate
	$(DEB_STAGE)/kerio-migrate generate man $(DEB_STAGE)/man
	gzip -9n $(DEB_STAGE)/man/*.1
	for sh in bash zsh fish; do \
	  $(DEB_STAGE)/kerio-migrate generate completions $$sh --dir $(DEB_STAGE)/completions >/dev/null || exit 1; \
	done
	$(CARGO) deb --no-build --no-strip --output target/debian/
	cp $(DEB_STAGE)/kerio-migrate.debug target/debian/kerio-migrate.debug
	@ls -l target/debian/

clean:
	$(CARGO) clean
