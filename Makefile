# The two commands a newcomer needs (see README):
#   make run   — install what is missing, build, and start the Ferry desktop app
#   make test  — install what is missing and run the whole test suite
# Packaging (README, "Install"; not part of `make test`):
#   make package       — the .deb and .rpm, in target/release/bundle/
#   make package-test  — install the .deb in a clean Debian 12 chroot, use it, remove it
.PHONY: run test setup bench fakes package package-test

# Files or folders to queue when the app starts (optional): make run FILES="a.jpg b.mp4"
FILES ?=

setup:
	bash scripts/setup

run: setup
	bash scripts/run $(FILES)

test: setup
	bash scripts/test

bench: setup
	bash bench/run

fakes:
	cargo run -p ferry-fakes -- --print-endpoints

package: setup
	bash scripts/package

package-test: package
	bash scripts/package-test
