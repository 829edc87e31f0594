# Peerset in a container: `docker build -t peerset .` then `docker run --rm peerset` runs the demo.
# Peerset's files (the default SQLite database) live in the /data volume.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PEERSET_DATA_DIR=/data

# Installed, not editable: the protocols and migrations ship inside the package.
# The postgres extra adds the PostgreSQL driver for PEERSET_DATABASE_URL=postgresql+psycopg://...
COPY . /tmp/peerset
RUN pip install --no-cache-dir "/tmp/peerset[postgres]" \
    && rm -rf /tmp/peerset

RUN useradd --create-home --uid 10001 --user-group peerset \
    && mkdir -p /data \
    && chown peerset:peerset /data
USER peerset
WORKDIR /home/peerset
VOLUME ["/data"]

ENTRYPOINT ["peerset"]
CMD ["demo"]
