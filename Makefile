# Driftgate: `make demo` runs the embedded demo, `make test` runs the suite against PostgreSQL and Redis.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
STAMP := $(VENV)/.installed
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/postgres
TEST_REDIS_URL ?= redis://127.0.0.1:6379/0

.PHONY: demo test lint venv services chromium messages migrate check-deploy bench clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	# The CPU build of torch first, so nothing later resolves to the CUDA wheels.
	$(PIP) install --quiet "torch==2.13.0"
	$(PIP) install --quiet -e ".[test]"
	touch $(STAMP)

venv: $(STAMP)

# The demo serves on DEMO_PORT, or on the next free port when that one is taken; the seed prints links to it.
DEMO_PORT ?= 8000

demo: $(STAMP)
	$(PY) manage.py migrate --noinput
	@port=$$($(PY) scripts/free_port.py $(DEMO_PORT)) && \
	$(PY) manage.py demo_seed --base-url http://127.0.0.1:$$port && \
	$(PY) manage.py runserver 127.0.0.1:$$port

services:
	bash scripts/ensure-services.sh

# Browser tests drive Debian's chromium; Playwright's own browser download cannot work offline.
chromium:
	command -v chromium >/dev/null || (apt-get update && apt-get install -y chromium)

# Static analysis is part of the suite: `make test` stops here when ruff or mypy finds anything.
lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy driftgate governance monitoring reports

test: lint $(STAMP) services chromium
	DATABASE_URL=$(TEST_DATABASE_URL) DRIFTGATE_TEST_REDIS_URL=$(TEST_REDIS_URL) $(PY) -m pytest

# Throwaway audit keys in var/check-deploy/; CHECK_DATABASE_URL must be the application's role (not the owner).
CHECK_DATABASE_URL ?= $(TEST_DATABASE_URL)
check-deploy: $(STAMP)
	mkdir -p var/check-deploy && chmod 700 var/check-deploy
	test -s var/check-deploy/hmac.keys || $(PY) -c "import base64, secrets; print('check-1:' + base64.b64encode(secrets.token_bytes(32)).decode())" > var/check-deploy/hmac.keys
	test -s var/check-deploy/checkpoint.pem || openssl genpkey -algorithm ed25519 -out var/check-deploy/checkpoint.pem
	DJANGO_DEBUG=0 DJANGO_SECRET_KEY=check-deploy-only-$$(date +%s)-not-a-real-key-0123456789abcdefghijkl \
	DJANGO_ALLOWED_HOSTS=driftgate.example.com DATABASE_URL=$(CHECK_DATABASE_URL) \
	DRIFTGATE_AUDIT_HMAC_KEYS_FILE=var/check-deploy/hmac.keys DRIFTGATE_AUDIT_SIGNING_KEY_FILE=var/check-deploy/checkpoint.pem \
	DRIFTGATE_AUDIT_CHECKPOINT_DIR=var/check-deploy/checkpoints \
	$(PY) manage.py check --deploy --fail-level WARNING

# Page strings and the checklists' texts into locale/{nb,sv}; the compiled .mo files are committed.
# monitoring/ and templates/monitoring/ keep their catalogue in monitoring/locale (edited there): makemessages
# would file monitoring/'s strings there and the templates' in locale/, marking most of it obsolete.
MESSAGE_IGNORE := --ignore=.venv --ignore=staticfiles --ignore=var --ignore=tests --ignore=benchmarks \
	--ignore=scripts --ignore=monitoring

messages: $(STAMP)
	command -v msgfmt >/dev/null || (apt-get update && apt-get install -y gettext)
	$(PY) scripts/checklist_messages.py
	$(PY) manage.py makemessages -l nb -l sv --no-location $(MESSAGE_IGNORE)
	$(PY) manage.py compilemessages --ignore=.venv

bench: $(STAMP) services
	DATABASE_URL=$(TEST_DATABASE_URL) $(PY) -m benchmarks.run_all

clean:
	rm -rf $(VENV) var .cache .pytest_cache
