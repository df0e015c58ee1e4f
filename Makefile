# The two commands a newcomer needs (see README):
#   make run   — install what is missing, build, and run Ferry
#   make test  — install what is missing and run the whole test suite
.PHONY: run test setup bench fakes

FILES ?= docs/sample.png

setup:
	bash scripts/setup

run: setup
	cargo build --release -p ferry-cli
	./target/release/ferry upload $(FILES)
	./target/release/ferry library

test: setup
	bash scripts/test

bench: setup
	bash bench/run

fakes:
	cargo run -p ferry-fakes -- --print-endpoints
