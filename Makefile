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

.PHONY: demo test venv services migrate check-deploy bench clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	# The CPU build of torch first, so nothing later resolves to the CUDA wheels.
	$(PIP) install --quiet "torch==2.13.0"
	$(PIP) install --quiet -e ".[test]"
	touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(PY) manage.py migrate --noinput
	$(PY) manage.py demo_seed
	$(PY) manage.py runserver 127.0.0.1:8000

services:
	bash scripts/ensure-services.sh

test: $(STAMP) services
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

bench: $(STAMP) services
	DATABASE_URL=$(TEST_DATABASE_URL) $(PY) -m benchmarks.run_all

clean:
	rm -rf $(VENV) var .cache .pytest_cache
