# One-word commands. `make run` and `make test` are the two commands of the README.
.PHONY: run test setup lint bench-demo bench-search messages

run:
	./scripts/run.sh

test:
	./scripts/test.sh

setup:
	./scripts/setup.sh

lint:
	./scripts/setup.sh test && .venv/bin/ruff check src tests conftest.py

messages:
	cd src/renkou && ../../.venv/bin/django-admin makemessages -l zh_Hans --settings=renkou.settings && ../../.venv/bin/django-admin compilemessages --settings=renkou.settings

bench-demo:
	.venv/bin/renkou bench demo

bench-search:
	.venv/bin/renkou bench search
