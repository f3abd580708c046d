# ChestX Review: one image for the web app and the loop's worker (docs/OPERATIONS.md, "Containers").
# Not built on the development machines (no Docker daemon there): kept minimal and obvious.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    CHESTX_HOME=/data CHESTX_HOST=0.0.0.0 CHESTX_PORT=7860

RUN useradd --create-home --uid 10001 chestx && mkdir /data && chown chestx /data
WORKDIR /app

# torch first, the CPU build from PyTorch's own index (PyPI's torch==2.13.0 is a CUDA build);
# for GPUs, build FROM a CUDA image and install the matching CUDA build of torch instead.
RUN pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu

COPY pyproject.toml README.md app.py ./
COPY chestx chestx
COPY services services
COPY training training
COPY exports exports
COPY migrations migrations
COPY review_db review_db
COPY imaging imaging
COPY reasoner reasoner
COPY vocab vocab
# A web-only image can drop [train]; the worker needs it. [postgres] for a department's database.
RUN pip install ".[train,postgres,pacs]"

USER chestx
VOLUME /data
EXPOSE 7860
HEALTHCHECK --interval=30s --timeout=5s CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:7860/healthz').status != 200)"
# The database must be migrated first (compose runs `chestx db upgrade` once); no demo off loopback.
CMD ["chestx", "serve", "--no-demo"]
