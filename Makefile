# The two commands a newcomer needs (see README):
#   make run   — install what is missing, build, and start the Ferry desktop app
#   make test  — install what is missing and run the whole test suite
.PHONY: run test setup bench fakes

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
