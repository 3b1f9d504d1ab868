# The Lineage server image: `docker compose up --build`, or
#   docker build -t lineage . && docker run -p 8080:8080 -p 8081:8081 lineage
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /src

# Dependencies first (this layer is rebuilt only when they change): what the base install
# and the server, gcs and viewers extras need, at the versions pinned in requirements.lock.
# The lock covers every extra, tests and tools included; used as constraints, it pins
# without installing pytest, playwright and the rest into the image.
COPY pyproject.toml requirements.lock ./
RUN python -c "import tomllib; p = tomllib.load(open('pyproject.toml', 'rb'))['project']; \
print('\n'.join(p['dependencies'] + [d for e in ('server', 'gcs', 'viewers') \
for d in p['optional-dependencies'][e]]))" > /tmp/requirements.txt \
    && pip install -c requirements.lock -r /tmp/requirements.txt

COPY README.md ./
COPY lineage ./lineage
COPY server ./server
COPY client ./client
COPY viewers ./viewers
COPY proto ./proto
RUN pip install -c requirements.lock --no-deps ".[server,gcs,viewers]" \
    && pip check \
    && rm -rf /src /tmp/requirements.txt

RUN useradd --system --uid 10001 --home-dir /var/lib/lineage lineage \
    && mkdir -p /var/lib/lineage/spool /var/lib/lineage/blobs \
    && chown -R lineage /var/lib/lineage
USER lineage
WORKDIR /var/lib/lineage

EXPOSE 8080 8081
ENTRYPOINT ["lineage"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8080", "--http-port", "8081"]
