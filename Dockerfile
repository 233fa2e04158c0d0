# One image for the API and the worker; the command chooses which (`overgang api` / `overgang worker`).
FROM python:3.11-slim
WORKDIR /app
RUN apt-get update && apt-get install -y --no-install-recommends nodejs npm && rm -rf /var/lib/apt/lists/*
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
COPY package.json package-lock.json ./
RUN pip install --no-cache-dir . && npm ci --omit=dev
USER nobody
ENV OVERGANG_API_HOST=0.0.0.0 OVERGANG_STATE_DIR=/tmp/overgang
CMD ["overgang", "api"]
