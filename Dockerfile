# The Lineage server image: `docker compose up --build`, or
#   docker build -t lineage . && docker run -p 8080:8080 -p 8081:8081 lineage
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /src

# Pinned dependencies first: this layer is rebuilt only when the lock changes.
COPY requirements.lock ./
RUN pip install -r requirements.lock

COPY pyproject.toml README.md ./
COPY lineage ./lineage
COPY server ./server
COPY client ./client
COPY viewers ./viewers
COPY proto ./proto
RUN pip install ".[server,gcs,viewers]" && rm -rf /src

RUN useradd --system --uid 10001 --home-dir /var/lib/lineage lineage \
    && mkdir -p /var/lib/lineage/spool /var/lib/lineage/blobs \
    && chown -R lineage /var/lib/lineage
USER lineage
WORKDIR /var/lib/lineage

EXPOSE 8080 8081
ENTRYPOINT ["lineage"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8080", "--http-port", "8081"]
