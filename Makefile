# zoo: the two set-up commands of the README are `make demo` and `make test`; both install what they need.
PYTHON ?= python3
PIP ?= $(PYTHON) -m pip
CONFIG ?= configs/vae_fashion_mnist.yaml

.PHONY: install install-dev data demo test test-all benchmark results clean

# torch and torchvision first, pinned to the pair whose wheels match (a range could pull a different CUDA build).
install:
	$(PIP) install -q torch==2.14.1 torchvision==0.29.1
	$(PIP) install -q -e .

install-dev:
	$(PIP) install -q torch==2.14.1 torchvision==0.29.1
	$(PIP) install -q -e '.[dev]'

# The full Fashion-MNIST, as the Debian package ships it (IDX .gz files under /usr/share/datasets/fashion-mnist).
data:
	@if [ ! -f /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ]; then \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq dataset-fashion-mnist; \
	fi

# Train a VAE on Fashion-MNIST for a few minutes; prints where the checkpoint and the sample grids are.
demo: data install
	zoo fit --config $(CONFIG)

# Unit tests plus a CI-sized set of real-data training checks (`make test-all` runs every slow check).
test: data install-dev
	$(PYTHON) -m pytest -q -m "not slow or ci" tests

test-all: data install-dev
	$(PYTHON) -m pytest -q tests

benchmark: data install
	$(PYTHON) benchmarks/overhead.py

# The trained zoo's table in docs/results.md: every published Fashion-MNIST checkpoint scored on its stored weights.
results: data install
	$(PYTHON) benchmarks/quality.py --published

clean:
	rm -rf runs data .pytest_cache
