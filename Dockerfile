# One image for the API and the worker; the command chooses which (`overgang api` / `overgang worker`).
# The runtime only, from the lock (requirements/image.txt): no embedded servers (the image talks
# to the PostgreSQL and Temporal that DATABASE_URL and TEMPORAL_ADDRESS name), no test tools.
FROM python:3.11-slim
WORKDIR /app
RUN apt-get update && apt-get install -y --no-install-recommends nodejs npm && rm -rf /var/lib/apt/lists/*
# The locked dependencies first: this layer stays cached while only the code changes.
COPY requirements/image.txt requirements/image.txt
RUN pip install --no-cache-dir --require-hashes -r requirements/image.txt
COPY package.json package-lock.json ./
RUN npm ci --omit=dev
COPY pyproject.toml README.md ./
COPY domain domain
COPY foundation foundation
COPY workflows workflows
COPY activities activities
COPY api api
COPY store store
COPY web web
COPY overgang overgang
COPY worker.py ./
RUN pip install --no-cache-dir --no-deps . && rm -rf build
USER nobody
# The package is installed into site-packages: point it at the npm packages installed here.
ENV OVERGANG_API_HOST=0.0.0.0 OVERGANG_STATE_DIR=/tmp/overgang OVERGANG_NODE_MODULES=/app/node_modules
CMD ["overgang", "api"]
